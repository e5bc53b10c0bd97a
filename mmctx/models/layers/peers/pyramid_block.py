"""PSPNet's and DeepLabv3's pyramid context modules as a ``C -> C`` block."""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_positive_int
from ._layer_cfgs import _layer_cfgs


@register_context_block
class PyramidBlock(nn.Module):
    """A pyramid context module as a block: branches of ``C // 4`` channels
    (mmseg's 2048 -> 512 proportion) concatenated with the input and fused
    by a 3x3 bottleneck back to ``C``, as in PSPHead / ASPPHead.

    Args:
        in_channels (int): Channels of the input and output.
        kind (str): ``'ppm'`` (mmseg's PPM, pool scales 1, 2, 3, 6) or
            ``'aspp'`` (image pool + mmseg's ASPPModule, dilations 1, 12,
            24, 36).
        norm_cfg (dict, optional): Norm of every conv. Default: BN.
    """

    def __init__(self,
                 in_channels: int,
                 kind: str,
                 norm_cfg: Optional[Dict] = dict(type='BN')):
        super().__init__()
        from mmseg.models.decode_heads.aspp_head import ASPPModule
        from mmseg.models.decode_heads.psp_head import PPM
        if kind not in ('ppm', 'aspp'):
            raise ValueError(f"kind must be 'ppm' or 'aspp', but got {kind!r}")
        if check_positive_int(in_channels, 'in_channels') < 4:
            raise ValueError('in_channels must be at least 4 (each branch has '
                             f'in_channels // 4), but got {in_channels}')
        branch = in_channels // 4
        common = _layer_cfgs(norm_cfg)
        if kind == 'ppm':
            self.branches = PPM((1, 2, 3, 6),
                                in_channels,
                                branch,
                                align_corners=False,
                                **common)
            num = 4
        else:
            self.branches = nn.ModuleList([
                nn.Sequential(
                    nn.AdaptiveAvgPool2d(1),
                    ConvModule(in_channels, branch, 1, **common)),
                ASPPModule((1, 12, 24, 36), in_channels, branch, **common)
            ])
            num = 5
        self.kind = kind
        self.bottleneck = ConvModule(
            in_channels + num * branch, in_channels, 3, padding=1, **common)

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == 'ppm':
            outs = [x, *self.branches(x)]
        else:
            pool, aspp = self.branches
            pooled = F.interpolate(pool(x), size=x.shape[2:], mode='bilinear')
            outs = [x, pooled, *aspp(x)]
        return self.bottleneck(torch.cat(outs, dim=1))
