"""Compact generalized non-local (CGNL), Yue et al., NeurIPS 2018,
arXiv:1810.13125.

Non-local attention over every (channel, position) pair, made compact by the
associativity of a kernel that factorises (paper Sec. 3.2-3.3): with the dot
product ``f(x, y) = x^T y``,

    y = theta (phi^T g)

is a scalar ``phi^T g`` (summed over the channels *and* positions of a
group) times ``theta``: linear in both. The Gaussian kernel ``exp(-2 gamma)
exp(2 gamma x y)`` is approximated by its Taylor expansion to ``order``
terms, ``sum_p alpha_p^2 x^p y^p`` with ``alpha_p^2 = (2 gamma)^p / p!
exp(-2 gamma)`` (Eq. 7-8), which factorises the same way. Channels are split
into ``groups`` that attend separately (Sec. 3.4); the output is ``z(.)``, a
grouped 1x1 conv, and GroupNorm, added to the input. The layout and defaults
are the official code's ``SpatialCGNL`` / ``SpatialCGNLx``.

SR paper Table IV (``+CGNL``) and ISA paper Tables 11-12 compare with it.
"""
import math
from typing import Dict, List, Optional, Union

import torch
from mmcv.cnn import ConvModule, build_conv_layer
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import (check_bool, check_choice, check_layer_cfgs,
                       check_positive_int)
from .._options import RecordedOptions
from .._residual import ResidualContextBlock

KERNELS = ('dot', 'gaussian')


def taylor_features(x: Tensor, order: int, gamma: float) -> Tensor:
    """``alpha_p x^p`` for ``p = 0 .. order`` along a new dim 1, so that
    ``sum_p (alpha_p x^p)(alpha_p y^p)`` is the Taylor expansion of
    ``exp(-(x - y)^2 gamma)``'s cross term ``exp(-2 gamma) exp(2 gamma x y)``
    (CGNL Eq. 8). ``x``: (N, L) -> (N, order + 1, L)."""
    terms = [
        x.pow(p) * math.sqrt(
            (2 * gamma)**p / math.factorial(p) * math.exp(-2 * gamma))
        for p in range(order + 1)
    ]
    return torch.stack(terms, dim=1)


def compact_attention(theta: Tensor, phi: Tensor, g: Tensor, kernel: str,
                      order: int, gamma: float, use_scale: bool) -> Tensor:
    """CGNL's ``theta (phi^T g)`` on one group, (N, C, H, W) each.

    Every channel and position of the group is one element of the sum, as
    the official code flattens ``C x H x W``."""
    # flatten, not reshape(n, 1, -1): an empty batch has no -1 to infer
    t, p, v = theta.flatten(1)[:, None], phi.flatten(1)[:, None], \
        g.flatten(1)[:, :, None]
    if kernel == 'gaussian':
        t = taylor_features(t[:, 0], order, gamma)
        p = taylor_features(p[:, 0], order, gamma)
    att = torch.bmm(p, v)  # (N, terms, 1)
    if use_scale:
        att = att / math.sqrt(v.size(1))
    return torch.bmm(att.transpose(1, 2), t).view_as(theta)


@register_context_block
class CGNLBlock(RecordedOptions, ResidualContextBlock):
    """Compact generalized non-local block (the official ``SpatialCGNL``;
    ``kernel='gaussian'`` is ``SpatialCGNLx``).

    ``y = x + GN(z(cat_k compact_attention(theta_k, phi_k, g_k)))``, with
    ``theta``, ``phi``, ``g`` bias-free 1x1 convs to ``channels`` split into
    ``groups``, ``z`` a grouped 1x1 conv back to ``in_channels``. The
    GroupNorm is zeroed at init, so the block starts as the identity (the
    official code zero-initialises nothing; ``zero_init=False`` keeps the
    default init).

    Args:
        in_channels (int): Channels of the input and output.
        channels (int, optional): Channels of theta, phi and g ("planes").
            Default: None, ``in_channels // 2`` (the official ResNet blocks;
            SR Table IV's 0.53M at 512 channels).
        groups (int): Channel groups (Sec. 3.4); must divide ``channels``
            and ``in_channels``. Default: 1.
        kernel (str): ``'dot'`` (dot product) or ``'gaussian'`` (its Taylor
            expansion). Default: 'dot'.
        order (int): Taylor order of the Gaussian kernel. Default: 2 (the
            official code's).
        gamma (float): The Gaussian kernel's ``gamma``. Default: 1e-4 (the
            official code's).
        use_scale (bool): Divide ``phi^T g`` by the square root of the
            number of its terms (the official ``use_scale``). Default: False.
        zero_init (bool): Zero the GroupNorm at init. Default: True.
        conv_cfg (dict, optional): Config of the convs. Default: None.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    _abbr_ = 'cgnl_block'

    recorded_options = ('kernel', 'order', 'gamma', 'use_scale')

    def __init__(self,
                 in_channels: int,
                 channels: Optional[int] = None,
                 groups: int = 1,
                 kernel: str = 'dot',
                 order: int = 2,
                 gamma: float = 1e-4,
                 use_scale: bool = False,
                 zero_init: bool = True,
                 conv_cfg: Optional[Dict] = None,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None):
        super().__init__(in_channels, zero_init, init_cfg)
        check_layer_cfgs(conv_cfg=conv_cfg)
        channels = in_channels // 2 if channels is None else channels
        self.channels = check_positive_int(channels, 'channels')
        self.groups = check_positive_int(groups, 'groups')
        if channels % groups or in_channels % groups:
            raise ValueError(
                f'groups={groups} must divide channels={channels} and '
                f'in_channels={in_channels}')
        self.kernel = check_choice(kernel, 'kernel', KERNELS)
        self.order = check_positive_int(order, 'order')
        # nan and inf pass a `<= 0` check and make every output nan
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) \
                or not math.isfinite(gamma) or gamma <= 0:
            raise ValueError(f'gamma must be a positive finite number, but '
                             f'got {gamma!r}')
        self.gamma = float(gamma)
        self.use_scale = check_bool(use_scale, 'use_scale')
        self.theta, self.phi, self.g = (
            build_conv_layer(conv_cfg, in_channels, channels, 1, bias=False)
            for _ in range(3))
        self.out_proj = ConvModule(
            channels,
            in_channels,
            1,
            groups=groups,
            bias=False,
            conv_cfg=conv_cfg,
            norm_cfg=dict(type='GN', num_groups=groups),
            act_cfg=None)
        self.zero_init_residual()
        self.record_options()

    def out_layer(self) -> ConvModule:
        return self.out_proj

    def residual(self, x: Tensor) -> Tensor:
        split = [
            torch.chunk(proj(x), self.groups, dim=1)
            for proj in (self.theta, self.phi, self.g)
        ]
        context = torch.cat([
            compact_attention(t, p, g, self.kernel, self.order, self.gamma,
                              self.use_scale) for t, p, g in zip(*split)
        ],
                            dim=1)
        return self.out_proj(context)

    def extra_repr(self) -> str:
        return (f'groups={self.groups}, kernel={self.kernel!r}' +
                (f', order={self.order}' if self.kernel == 'gaussian' else ''))
