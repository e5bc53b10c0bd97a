"""CGNL against a float64 brute force of its kernel sums, the Taylor
expansion against the Gaussian kernel it approximates, and its cost at SR
Table IV's setting."""
import math

import pytest
import torch

from mmctx.deployment import randomise_
from mmctx.models.layers import CGNLBlock
from mmctx.models.layers.peers.compact_nonlocal import compact_attention


def kernel_sum(theta, phi, g, kernel):
    """``y_i = sum_j f(theta_i, phi_j) g_j`` over every (channel, position)
    element ``i`` and ``j`` of a group (CGNL Eq. 3), the (CHW)^2 way."""
    n = theta.size(0)
    t, p, v = (x.reshape(n, -1) for x in (theta, phi, g))
    out = torch.empty_like(t)
    for s in range(n):
        pairs = kernel(t[s][:, None], p[s][None, :])  # (CHW, CHW)
        out[s] = pairs @ v[s]
    return out.view_as(theta)


def dot(x, y):
    return x * y


def test_dot_product_kernel_is_the_compact_sum():
    torch.manual_seed(0)
    t, p, g = (torch.randn(2, 3, 4, 5, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(
        compact_attention(t, p, g, 'dot', 2, 1e-4, False),
        kernel_sum(t, p, g, dot))
    scaled = compact_attention(t, p, g, 'dot', 2, 1e-4, True)
    torch.testing.assert_close(scaled, kernel_sum(t, p, g, dot) / 60**0.5)


def test_taylor_expansion_approximates_the_gaussian_kernel():
    """Order 12 at gamma 0.05 and unit-scale values: the first dropped term,
    (2 gamma x y)^13 / 13!, is below 1e-20; lower orders (the official 2)
    leave terms out, fewer the higher the order."""
    torch.manual_seed(0)
    gamma = 0.05
    t, p, g = (torch.randn(2, 3, 4, 5, dtype=torch.float64) for _ in range(3))

    def cross_term(x, y):
        return math.exp(-2 * gamma) * torch.exp(2 * gamma * x * y)

    exact = kernel_sum(t, p, g, cross_term)
    torch.testing.assert_close(
        compact_attention(t, p, g, 'gaussian', 12, gamma, False), exact)
    errors = [(compact_attention(t, p, g, 'gaussian', order, gamma, False) -
               exact).abs().max() for order in (2, 4, 12)]
    assert errors[0] > 1e-6 and errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize('kernel', ['dot', 'gaussian'])
def test_groups_attend_separately(kernel):
    block = randomise_(CGNLBlock(6, 6, groups=3,
                                 kernel=kernel)).double().eval()
    x = torch.randn(2, 6, 4, 3, dtype=torch.float64)
    t, p, g = (proj(x) for proj in (block.theta, block.phi, block.g))
    context = torch.cat([
        kernel_sum(
            t[:, k:k + 2], p[:, k:k + 2], g[:, k:k + 2],
            dot if kernel == 'dot' else lambda a, b: sum(
                (2e-4 * a * b)**q / math.factorial(q)
                for q in range(3)) * math.exp(-2e-4)) for k in (0, 2, 4)
    ],
                        dim=1)
    torch.testing.assert_close(block(x), x + block.out_proj(context))


def test_table_iv_parameters():
    """SR Table IV: +0.53M at 512 channels: theta, phi, g (bias-free, to
    256) and z back, plus the GroupNorm's 1024."""
    params = sum(p.numel() for p in CGNLBlock(512).parameters())
    assert params == 4 * 512 * 256 + 2 * 512
    assert params / 1e6 == pytest.approx(0.53, abs=0.005)


@pytest.mark.parametrize(
    'kwargs, error, words',
    [(dict(groups=3), ValueError, 'groups=3 must divide channels=4'),
     (dict(kernel='poly'), ValueError, 'kernel must be one of'),
     (dict(order=0), ValueError, 'order must be a positive int'),
     (dict(gamma=-1.0), ValueError, 'gamma must be a positive finite'),
     (dict(gamma=float('nan')), ValueError, 'gamma .* got nan'),
     (dict(gamma=float('inf')), ValueError, 'gamma .* got inf'),
     (dict(use_scale='yes'), TypeError, 'use_scale must be True or False')],
    ids=str)
def test_bad_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        CGNLBlock(8, **kwargs)
