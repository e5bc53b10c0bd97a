"""A^2-Nets' double attention against a float64 brute force of its
equations, and its cost at SR Table IV's setting."""
import pytest
import torch

from mmctx.deployment import randomise_
from mmctx.models.layers import DoubleAttentionBlock
from mmctx.models.layers.peers.double_attention import double_attention

pytestmark = pytest.mark.stack


def brute_force(a, b, v):
    """A^2-Nets Eq. 1-3, one sum at a time: descriptor ``G[:, j] = sum_i
    A[:, i] softmax_i(B[j])``, output ``Z[:, i] = sum_j G[:, j]
    softmax_j(V[:, i])``."""
    n, m, h, w = a.shape
    a, b, v = a.flatten(2), b.flatten(2), v.flatten(2)
    out = torch.zeros_like(a)
    for s in range(n):
        gather = torch.exp(b[s]) / torch.exp(b[s]).sum(dim=1, keepdim=True)
        descriptors = torch.stack([(a[s] * gather[j]).sum(dim=1)
                                   for j in range(b.size(1))],
                                  dim=1)
        distribute = torch.exp(v[s]) / torch.exp(v[s]).sum(dim=0, keepdim=True)
        for i in range(h * w):
            out[s, :, i] = (descriptors * distribute[:, i]).sum(dim=1)
    return out.view(n, m, h, w)


def test_double_attention_matches_the_equations():
    torch.manual_seed(0)
    a, b, v = (torch.randn(2, c, 5, 3, dtype=torch.float64) for c in (6, 4, 4))
    torch.testing.assert_close(double_attention(a, b, v), brute_force(a, b, v))


def test_block_is_the_input_plus_w_of_the_attention():
    block = randomise_(DoubleAttentionBlock(8, 6, 4)).double().eval()
    x = torch.randn(2, 8, 5, 3, dtype=torch.float64)
    z = brute_force(block.features(x), block.gather(x), block.distribute(x))
    torch.testing.assert_close(block(x), x + block.out_proj(z))


def test_table_iv_parameters():
    """SR Table IV: +0.53M at 512 channels (m = n = 256): three 1x1 convs
    to 256 and one back, with biases. The paper rounds to 0.01M (0.9%)."""
    block = DoubleAttentionBlock(512)
    params = sum(p.numel() for p in block.parameters())
    assert params == 3 * (512 * 256 + 256) + 256 * 512 + 512
    assert params / 1e6 == pytest.approx(0.53, abs=0.005)


@pytest.mark.parametrize(
    'kwargs, words',
    [(dict(feature_channels=0), 'feature_channels must be a positive int'),
     (dict(num_descriptors=2.0), 'num_descriptors must be a positive int'),
     (dict(in_channels=1), r'feature_channels \(in_channels // 2\)')],
    ids=str)
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        DoubleAttentionBlock(**dict(dict(in_channels=8), **kwargs))
