"""Other papers' context modules as ``C -> C`` blocks, each a thin adapter
over the module mmseg or mmcv ships (nothing re-implemented), so that a
:class:`mmctx.models.decode_heads.ContextHead` places any of them between
its 3x3 convs (SR paper Table IV, ISA paper Tables 10 and 12) and the
benchmark (:mod:`mmctx.analysis.peers`) measures the same modules.

mmcv's ``NonLocal2d`` and ``ContextBlock`` are already ``C -> C`` blocks in
mmengine's root registry: configs name them directly.
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmctx.registry import register_context_block
from ._checks import check_layer_cfg, check_positive_int, is_int
from ._options import RecordedOptions


def _layer_cfgs(norm_cfg: Optional[Dict]) -> Dict:
    return dict(
        conv_cfg=None,
        norm_cfg=check_layer_cfg(norm_cfg, 'norm_cfg'),
        act_cfg=dict(type='ReLU'))


@register_context_block
class RecurrentCrissCrossAttention(RecordedOptions, nn.Module):
    """CCNet's RCCA: mmcv's ``CrissCrossAttention`` applied ``recurrence``
    times with shared weights (``CCHead`` without its convs).

    Args:
        in_channels (int): Channels of the input and output.
        recurrence (int): Applications (CCNet: 2, every position then sees
            every other). Default: 2.
    """

    recorded_options = ('recurrence', )

    def __init__(self, in_channels: int, recurrence: int = 2):
        super().__init__()
        from mmcv.ops import CrissCrossAttention
        self.recurrence = check_positive_int(recurrence, 'recurrence')
        self.cca = CrissCrossAttention(
            check_positive_int(in_channels, 'in_channels'))
        self.record_options()

    def forward(self, x: Tensor) -> Tensor:
        for _ in range(self.recurrence):
            x = self.cca(x)
        return x


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


@register_context_block
class DualAttention(nn.Module):
    """DANet's position (PAM) and channel (CAM) attention, summed (DAHead
    without its 3x3 convs).

    Args:
        in_channels (int): Channels of the input and output.
        pam_channels (int, optional): Key channels of PAM. Default: None,
            ``in_channels // 8`` (DANet's).
    """

    def __init__(self, in_channels: int, pam_channels: Optional[int] = None):
        super().__init__()
        from mmseg.models.decode_heads.da_head import CAM, PAM
        check_positive_int(in_channels, 'in_channels')
        # 0 must not pass for None (the default) as `pam_channels or` would
        self.pam = PAM(
            in_channels,
            max(in_channels // 8, 1) if pam_channels is None else
            check_positive_int(pam_channels, 'pam_channels'))
        self.cam = CAM()

    def forward(self, x: Tensor) -> Tensor:
        return self.pam(x) + self.cam(x)


@register_context_block
class EMAUnit(nn.Module):
    """EMANet's EMA unit as in EMAHead without its 3x3 convs: 1x1 conv, EM
    attention (mmseg's ``EMAModule``), ReLU, 1x1 conv + norm, residual,
    ReLU.

    Args:
        in_channels (int): Channels of the input and output.
        num_bases (int): Bases of the EM attention. Default: 64.
        num_stages (int): EM iterations. Default: 3.
        momentum (float): Of the bases' moving average. Default: 0.1.
        norm_cfg (dict, optional): Norm of the output conv. Default: BN.
    """

    def __init__(self,
                 in_channels: int,
                 num_bases: int = 64,
                 num_stages: int = 3,
                 momentum: float = 0.1,
                 norm_cfg: Optional[Dict] = dict(type='BN')):
        super().__init__()
        from mmseg.models.decode_heads.ema_head import EMAModule
        c = check_positive_int(in_channels, 'in_channels')
        check_layer_cfg(norm_cfg, 'norm_cfg')
        self.mid_conv = ConvModule(c, c, 1, act_cfg=None)
        if isinstance(momentum, bool) or not isinstance(
                momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError('momentum must be a number in [0, 1], but got '
                             f'{momentum!r}')
        self.ema = EMAModule(c, check_positive_int(num_bases, 'num_bases'),
                             check_positive_int(num_stages, 'num_stages'),
                             momentum)
        self.out_conv = ConvModule(c, c, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: Tensor) -> Tensor:
        recon = torch.relu(self.ema(self.mid_conv(x)))
        return torch.relu(x + self.out_conv(recon))


@register_context_block
class EncodingBlock(nn.Module):
    """EncNet's context encoding module (mmseg's ``EncModule``), its
    feature output (the SE-loss branch belongs to EncHead).

    Args:
        in_channels (int): Channels of the input and output.
        num_codes (int): Codewords. Default: 32.
        norm_cfg (dict, optional): Norm of its layers. Default: BN.
    """

    def __init__(self,
                 in_channels: int,
                 num_codes: int = 32,
                 norm_cfg: Optional[Dict] = dict(type='BN')):
        super().__init__()
        from mmseg.models.decode_heads.enc_head import EncModule
        self.enc = EncModule(
            check_positive_int(in_channels, 'in_channels'),
            num_codes=check_positive_int(num_codes, 'num_codes'),
            **_layer_cfgs(norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        return self.enc(x)[1]


@register_context_block
class SEBlock(nn.Module):
    """Squeeze-and-excitation: mmseg's ``SELayer`` with the sigmoid gate of
    SENet (mmseg's default gate is a hard sigmoid).

    Args:
        in_channels (int): Channels of the input and output.
        ratio (int): Reduction of the excitation. Default: 16.
    """

    def __init__(self, in_channels: int, ratio: int = 16):
        super().__init__()
        from mmseg.models.utils import SELayer
        self.se = SELayer(
            check_positive_int(in_channels, 'in_channels'),
            ratio=check_positive_int(ratio, 'ratio'),
            act_cfg=(dict(type='ReLU'), dict(type='Sigmoid')))

    def forward(self, x: Tensor) -> Tensor:
        return self.se(x)


@register_context_block
class PyramidNonLocal(RecordedOptions, nn.Module):
    """ANN's asymmetric pyramid non-local block (mmseg's ``APNB``): keys
    and values pooled to the ``key_pool_scales`` grids.

    Args:
        in_channels (int): Channels of the input and output.
        key_pool_scales (Sequence[int]): Pooled grids. Default: (1, 3, 6, 8).
        channels (int, optional): Key and value channels. Default: None,
            ``in_channels // 2``.
        norm_cfg (dict, optional): Norm of its layers. Default: BN.
    """

    recorded_options = ('key_pool_scales', )

    def __init__(self,
                 in_channels: int,
                 key_pool_scales: Sequence[int] = (1, 3, 6, 8),
                 channels: Optional[int] = None,
                 norm_cfg: Optional[Dict] = dict(type='BN')):
        super().__init__()
        from mmseg.models.decode_heads.ann_head import APNB
        c = check_positive_int(in_channels, 'in_channels')
        if not isinstance(key_pool_scales, (tuple, list)) or \
                not key_pool_scales or not all(
                    is_int(s) and s > 0 for s in key_pool_scales):
            # a 0 grid pools nothing: the context would be exactly zero
            raise ValueError('key_pool_scales must be a non-empty sequence of '
                             f'positive ints, but got {key_pool_scales!r}')
        self.key_pool_scales = tuple(key_pool_scales)
        self.apnb = APNB(
            in_channels=c,
            channels=c // 2 if channels is None else check_positive_int(
                channels, 'channels'),
            out_channels=c,
            query_scales=(1, ),
            key_pool_scales=self.key_pool_scales,
            **_layer_cfgs(norm_cfg))
        self.record_options()

    def forward(self, x: Tensor) -> Tensor:
        return self.apnb(x)
