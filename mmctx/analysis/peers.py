"""The modules the benchmark compares, each built from the package that
ships it (mmcv, mmseg, mmctx) at both papers' settings.

A :class:`Method` builds a row as a block (``C -> C`` at the input
resolution) and, where the papers measure one, as a whole decode head up to
its classifier. :data:`METHODS` holds every row by name.
"""
import math
from collections import OrderedDict
from typing import Callable, NamedTuple, Optional

import torch.nn as nn

from mmctx.models.layers import CGNLBlock, DoubleAttentionBlock
from mmctx.models.layers.peers import (DualAttention, EMAUnit, EncodingBlock,
                                       PyramidBlock, PyramidNonLocal,
                                       RecurrentCrissCrossAttention, SEBlock)

HEAD_CHANNELS = 512  # every head reduces to 512 channels (both papers)
NUM_CLASSES = 19  # irrelevant: the classifier is removed before measuring


def _bn():
    return dict(type='BN', requires_grad=True)


def _conv(in_channels, out_channels, kernel_size):
    from mmcv.cnn import ConvModule
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size,
        padding=kernel_size // 2,
        norm_cfg=_bn(),
        act_cfg=dict(type='ReLU'))


class MMSegISAAttention(nn.Module):
    """mmseg ``ISAHead``'s attention: its two ``SelfAttentionBlock``s and
    permutations, ``ISAHead.forward`` between ``in_conv`` and ``out_conv``
    (context only: without the concat with the residual that ``out_conv``
    fuses, whose copy would be charged to the attention).

    ``tests/test_analysis/test_peers.py`` runs mmseg's own
    ``ISAHead.forward`` on the same weights and compares the values, so a
    change in mmseg fails there rather than drifting from this copy.
    """

    def __init__(self, channels: int, isa_channels: int, down_factor=(8, 8)):
        super().__init__()
        from mmseg.models.decode_heads.isa_head import SelfAttentionBlock
        cfgs = dict(conv_cfg=None, norm_cfg=_bn(), act_cfg=dict(type='ReLU'))
        self.down_factor = down_factor
        self.global_relation = SelfAttentionBlock(channels, isa_channels,
                                                  **cfgs)
        self.local_relation = SelfAttentionBlock(channels, isa_channels,
                                                 **cfgs)

    def forward(self, x):
        n, c, h, w = x.size()
        loc_h, loc_w = self.down_factor
        glb_h, glb_w = math.ceil(h / loc_h), math.ceil(w / loc_w)
        pad_h, pad_w = glb_h * loc_h - h, glb_w * loc_w - w
        if pad_h > 0 or pad_w > 0:
            x = nn.functional.pad(x, (pad_w // 2, pad_w - pad_w // 2,
                                      pad_h // 2, pad_h - pad_h // 2))
        x = x.view(n, c, glb_h, loc_h, glb_w, loc_w)
        x = x.permute(0, 3, 5, 1, 2, 4).reshape(-1, c, glb_h, glb_w)
        x = self.global_relation(x)
        x = x.view(n, loc_h, loc_w, c, glb_h, glb_w)
        x = x.permute(0, 4, 5, 3, 1, 2).reshape(-1, c, loc_h, loc_w)
        x = self.local_relation(x)
        x = x.view(n, glb_h, glb_w, c, loc_h, loc_w)
        x = x.permute(0, 3, 1, 4, 2, 5).reshape(n, c, glb_h * loc_h,
                                                glb_w * loc_w)
        if pad_h > 0 or pad_w > 0:
            x = x[:, :, pad_h // 2:pad_h // 2 + h, pad_w // 2:pad_w // 2 + w]
        return x


class HeadFeatures(nn.Module):
    """A decode head up to (not including) its classifier: the 1x1
    ``conv_seg`` convs are replaced by identities, the rest of ``forward``
    runs as written (so heads whose ``_forward_feature`` is missing or stale,
    e.g. mmseg's CCHead, are measured as they run)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        for name in ('conv_seg', 'pam_conv_seg', 'cam_conv_seg'):
            if hasattr(head, name):
                setattr(head, name, nn.Identity())
        self.head = head

    def forward(self, x):
        out = self.head([x])
        return out[0] if isinstance(out, (tuple, list)) else out


class Stem(nn.Module):
    """A block inside a head's convs: ``3x3 conv (in -> 512) -> block``
    (ISA Table 13: the ISA/SA heads of openseg) or, with ``after=True``,
    ``3x3 conv -> block -> 3x3 conv`` (SR Table IV, mmseg's NLHead layout
    without the concat). ``block=None`` gives the convs alone."""

    def __init__(self, in_channels: int, block: Optional[nn.Module],
                 after: bool):
        super().__init__()
        self.conv_in = _conv(in_channels, HEAD_CHANNELS, 3)
        self.block = block if block is not None else nn.Identity()
        self.conv_out = _conv(HEAD_CHANNELS, HEAD_CHANNELS, 3) \
            if after else nn.Identity()

    def forward(self, x):
        return self.conv_out(self.block(self.conv_in(x)))


def _head(type_name: str, in_channels: int, **kwargs) -> nn.Module:
    """A decode head by config type: ``'ISAHead'`` is mmseg's,
    ``'mmctx.ISAHead'`` ours."""
    import mmseg.models  # noqa: F401  (registers mmseg's heads)
    from mmseg.registry import MODELS
    cfg = dict(
        type=type_name,
        in_channels=in_channels,
        channels=HEAD_CHANNELS,
        num_classes=NUM_CLASSES,
        norm_cfg=_bn(),
        align_corners=False)
    cfg.update(kwargs)
    return HeadFeatures(MODELS.build(cfg))


def _nonlocal(c):
    from mmcv.cnn import NonLocal2d
    return NonLocal2d(c, reduction=2, mode='embedded_gaussian')


def _context_block(c):
    from mmcv.cnn import ContextBlock
    return ContextBlock(c, ratio=1. / 4)


def _isa_block(fused):
    # reduction=2: values at NonLocal2d's width (C/2), so that the ratios
    # against NL compare the attention patterns, not the channel widths
    def build(c):
        from mmctx.models.layers.isa import ISABlock
        return ISABlock(c, reduction=2, fused_attn=fused)

    return build


def _isa_attention(fused):
    # mmseg ISAHead's settings: key C/2, value = out = C, value bias,
    # padding not masked
    def build(c):
        from mmctx.models.layers.isa import InterlacedSparseAttention
        return InterlacedSparseAttention(
            c,
            c // 2,
            value_channels=c,
            out_channels=c,
            mask_padding=False,
            value_bias=True,
            fused_attn=fused)

    return build


def _sr_block(squeeze):

    def build(c):
        from mmctx.models.layers.sr import SRBlock
        return SRBlock(c, squeeze=squeeze)

    return build


class Method(NamedTuple):
    """A row: ``block(C)`` builds the C -> C module, ``head(in_channels)``
    a whole decode head (features before the classifier). ``dense`` marks
    methods with an (HW)^2 attention map (skipped when it cannot fit)."""
    name: str
    what: str
    block: Optional[Callable[[int], nn.Module]] = None
    head: Optional[Callable[[int], nn.Module]] = None
    dense: bool = False


METHODS = OrderedDict((m.name, m) for m in [
    Method(
        'NL',
        'mmcv NonLocal2d, embedded gaussian, reduction 2',
        _nonlocal,
        dense=True),
    Method('ISA', 'mmctx ISABlock(reduction=2), explicit softmax(QK^T)V',
           _isa_block(False)),
    Method('ISA-fused', 'mmctx ISABlock(reduction=2), fused SDPA',
           _isa_block(True)),
    Method('SR-GAP', "mmctx SRBlock(squeeze='gap')", _sr_block('gap')),
    Method('SR-GHP', "mmctx SRBlock(squeeze='ghp')", _sr_block('ghp')),
    Method(
        'ISA-attn', 'mmctx InterlacedSparseAttention at mmseg '
        'ISAHead settings, explicit', _isa_attention(False)),
    Method(
        'ISA-attn-fused', 'mmctx InterlacedSparseAttention at mmseg '
        'ISAHead settings, fused SDPA', _isa_attention(True)),
    Method('mmseg-ISA-attn', "mmseg ISAHead's two SelfAttentionBlocks "
           '(isa_channels C/2)', lambda c: MMSegISAAttention(c, c // 2)),
    Method('A2Net', 'mmctx DoubleAttentionBlock, m = n = C/2',
           DoubleAttentionBlock),
    Method('CGNL', 'mmctx CGNLBlock, dot product, C/2, 1 group', CGNLBlock),
    Method('GC', 'mmcv ContextBlock, ratio 1/4', _context_block),
    Method('SE', 'mmseg SELayer, ratio 16, sigmoid gate', SEBlock),
    Method(
        'DANet',
        'mmseg PAM (keys C/8) + CAM; head: DAHead',
        DualAttention,
        lambda i: _head('DAHead', i, pam_channels=64),
        dense=True),
    Method('RCCA', 'mmcv CrissCrossAttention applied twice; head: CCHead',
           RecurrentCrissCrossAttention,
           lambda i: _head('CCHead', i, recurrence=2)),
    Method('PPM', 'mmseg PPM (1,2,3,6) + 3x3 bottleneck; head: PSPHead',
           lambda c: PyramidBlock(c, 'ppm'),
           lambda i: _head('PSPHead', i, pool_scales=(1, 2, 3, 6))),
    Method(
        'ASPP', 'mmseg ASPP (1,12,24,36) + image pool + 3x3 bottleneck; '
        'head: ASPPHead at 256 channels (DeepLabv3, SR Table IV)',
        lambda c: PyramidBlock(c, 'aspp'), lambda i: _head(
            'ASPPHead', i, channels=256, dilations=(1, 12, 24, 36))),
    Method('EMA', 'mmseg EMAModule (64 bases, 3 stages) with its 1x1 convs',
           EMAUnit),
    Method('ANN', 'mmseg APNB (key pools 1,3,6,8)', PyramidNonLocal),
    Method('Enc', 'mmseg EncModule (32 codes)', EncodingBlock),
    Method(
        'mmseg.ISAHead',
        'mmseg ISAHead (isa_channels 256)',
        head=lambda i: _head('ISAHead', i, isa_channels=256)),
    Method(
        'mmctx.ISAHead',
        'mmctx ISAHead (isa_channels 256)',
        head=lambda i: _head('mmctx.ISAHead', i, isa_channels=256)),
    Method(
        'mmctx.SRHead',
        'mmctx SRHead (GHP)',
        head=lambda i: _head('mmctx.SRHead', i)),
])
