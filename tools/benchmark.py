#!/usr/bin/env python
"""Cost of context modules side by side: SR and ISA against the peers that
ship in mmcv / mmseg, measured in one process at one input.

For every module: parameters, FLOPs, peak memory of the forward pass and
latency, with every ratio against dense self-attention (mmcv ``NonLocal2d``,
row ``NL``) taken from the same run. Presets reproduce the papers' cost
tables and print the published figures beside ours::

    python tools/benchmark.py isa-fig1                  # ISA paper Fig. 1
    python tools/benchmark.py isa-table13               # ISA paper Table 13
    python tools/benchmark.py sr-table4                 # SR paper Table IV
    python tools/benchmark.py sr-table5                 # SR paper Table V
    python tools/benchmark.py scaling --plot docs/scaling.png
    python tools/benchmark.py isa-fig1 --quick --input 64 32 32 --json r.json
    python tools/benchmark.py isa-fig1 --mode train --dtype fp32 bf16

What is measured in each preset (``METHODS`` and ``PRESETS`` below):

* ``isa-fig1`` and ``scaling``: each method as a block, C -> C at the input
  resolution (mmcv ``NonLocal2d``, our ``ISABlock`` / ``SRBlock``, mmseg's
  PAM + CAM, ...). ``ISA-attn*`` / ``mmseg-ISA-attn``: our
  ``InterlacedSparseAttention`` and mmseg ``ISAHead``'s attention at equal
  settings (context only).
* ``isa-table13``: heads on 2048-channel features: a 3x3 conv to 512
  channels then the block (row ``3x3``: the conv alone), or the whole mmseg
  head for DANet, RCCA and PPM, whose published figures match those heads.
* ``sr-table4``: the block between the two 3x3 convs of an FCN head (row
  ``2x3x3``: the convs alone; the ``+`` columns are the overheads the paper
  reports), or the whole head for ASPP and PSP, as in the paper.
* Heads are measured up to their classifier (``conv_seg`` removed).
* ``sr-table5``: whole real-time models from their configs (DF-Seg-v1,
  DF-Seg-v2, SRNet-DFv2: ``configs/dfseg``, ``configs/srnet``), random
  weights, whole-image inference from the preprocessed batch to logits at
  the input size (``mmctx.deployment.SegmentorLogits``), 1x3x1024x2048;
  ratios against DF-Seg-v2, FPS = 1000 / latency.

How each figure is measured:

* ``flops``: mmengine's jit counter (``mmengine.analysis.FlopAnalyzer``),
  which counts one multiply-add as one "flop": the figure is **MACs**. Convs,
  matmul/bmm/einsum, linear, norms, pooling and upsampling are counted,
  elementwise ops (softmax, add) are not. ``scaled_dot_product_attention``
  (the fused ISA path) is counted with the same convention as its explicit
  ``softmax(Q K^T) V``. The ISA paper's GFLOPs are 2 x MAC (its PPM figure,
  619 G, is 2 x the 309 GMAC of PSPNet's bottleneck conv); the SR paper's
  "FLOPS" are MACs (its "+2 * 3x3" row, 108.74 G, is the MAC count of the two
  convs). Paper figures are printed converted to MACs.
* ``peak_mem_mb``: the forward pass's working memory: the highest amount of
  memory allocated during ``forward`` above what was allocated before it
  (input and parameters excluded; the output included). CUDA:
  ``torch.cuda.max_memory_allocated()`` minus ``memory_allocated()`` before
  the call. CPU: torch has no allocator statistics, so the forward runs once
  under ``torch.profiler`` with ``profile_memory=True`` and the peak of the
  running sum of its allocation trace (every tensor allocation and free of
  the c10 CPU allocator, in order) is taken. Buffers that oneDNN allocates on
  its own (small convolution scratchpads) are not seen.
* ``latency_ms``: median of ``--repeats`` timed forwards after ``--warmup``
  untimed ones, ``torch.inference_mode()``, eval mode, batch 1, with the
  thread count fixed by ``torch.set_num_threads`` and printed.
* ``--mode train``: the same for one training step instead (train mode,
  forward, backward from the output's sum to the parameters and the input):
  peak memory then includes the activations autograd keeps and the
  gradients. ``--dtype fp32 bf16`` measures each row in fp32 and in bf16
  autocast in one run, with ratios against NL of the same dtype and a table
  of bf16 / fp32 ratios. GMAC stay forward MACs.
* Roofline: one large fp32 matrix multiply is timed; each module's achieved
  rate (2 x MACs / latency) is reported as a fraction of that rate.

Output: a markdown table on stdout (progress on stderr), ``--json PATH``
(schema in :func:`report_dict`), ``--plot PATH.png`` for ``scaling``.
"""
import argparse
import contextlib
import gc
import json
import math
import os
import statistics
import sys
import time
from collections import OrderedDict
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn

from mmctx.analysis import count_flops, cpu_model
from mmctx.cli import non_negative_int, positive_int, writable_file

MB = 2.0**20
HEAD_CHANNELS = 512  # every head preset reduces to 512 channels (both papers)
NUM_CLASSES = 19  # irrelevant: the classifier is removed before measuring

# --------------------------------------------------------------------------
# Published figures (shared/notes/reference-implementations.md, section 4).
# Converted to MACs where the paper counts 2 x MAC.
# --------------------------------------------------------------------------
# ISA paper Table 13, input 2048x128x128: memory MB, GFLOPs (2 x MAC), ms
# (CGNL, 266 MB / 412 GFLOPs / 75 ms, ships in neither mmcv nor mmseg).
ISA_TABLE13 = {
    'PPM': (664, 619, 75),
    'NL': (2168, 619, 77),
    'DANet': (2339, 1110, 121),
    'RCCA': (427, 804, 131),
    'mmseg.ISAHead': (252, 386, 45),
    'mmctx.ISAHead': (252, 386, 45),
}
# ISA paper Fig. 1, 512x128x128: ISA / SA ratios (memory, FLOPs, time).
ISA_FIG1_RATIOS = {'memory': 0.102, 'flops': 0.246, 'latency': 0.5}
# SR paper Table IV, features 2048x96x96: overhead over the head's two 3x3
# convs (GMAC, M params, MB); ASPP and PSP: whole head.
SR_TABLE4 = {
    '2x3x3': (108.74, 11.80, 108.00),
    'ASPP': (148.37, 15.54, 191.20),
    'PPM': (174.09, 23.07, 221.05),
    'SE': (0.00947, 0.03, 18.88),
    'NL': (48.36, 0.53, 865.52),
    'RCCA': (11.55, 0.53, 394.28),
    'Enc': (12.31, 0.59, 257.12),
    'ANN': (10.41, 0.68, 421.12),
    'EMA': (6.97, 0.54, 132.64),
    'SR-GAP': (2.43, 0.26, 82.31),
    'SR-GHP': (3.64, 0.40, 110.75),
}
SR_TABLE4_WHOLE_HEADS = ('ASPP', 'PPM')
# SR paper Table V, Cityscapes test, 1024x2048 on a GTX 1080 Ti:
# (params M, mIoU, FPS); the configs of each row.
SR_TABLE5 = {
    'DF-Seg-v1': (9.37, 73.0, 80),
    'DF-Seg-v2': (18.83, 74.8, 55),
    'SRNet-DFv2': (18.87, 77.5, 65),
}
TABLE5_CONFIGS = {
    'DF-Seg-v1': 'dfseg/dfseg_dfnetv1_4xb4-50k_cityscapes-1024x1024.py',
    'DF-Seg-v2': 'dfseg/dfseg_dfnetv2_4xb4-50k_cityscapes-1024x1024.py',
    'SRNet-DFv2': 'srnet/srnet_dfnetv2_4xb4-50k_cityscapes-1024x1024.py',
}
TABLE5_REFERENCE = 'DF-Seg-v2'


# --------------------------------------------------------------------------
# Module catalogue: every method as a block (C -> C at the input resolution)
# and, for the head presets, as a decode head (2048 -> 512).
# --------------------------------------------------------------------------
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


class Twice(nn.Module):
    """One module applied twice with shared weights (CCNet's recurrent
    criss-cross attention, ``recurrence=2``)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(self.module(x))


class PyramidBlock(nn.Module):
    """A pyramid context module as a block: branches of ``C // 4`` channels
    (mmseg's 2048 -> 512 proportion) concatenated with the input by a 3x3
    bottleneck back to ``C``, like PSPHead / ASPPHead."""

    def __init__(self, in_channels: int, kind: str):
        super().__init__()
        from mmseg.models.decode_heads.aspp_head import ASPPModule
        from mmseg.models.decode_heads.psp_head import PPM
        branch = in_channels // 4
        common = dict(
            conv_cfg=None, norm_cfg=_bn(), act_cfg=dict(type='ReLU'))
        if kind == 'ppm':
            self.branches = PPM((1, 2, 3, 6), in_channels, branch,
                                align_corners=False, **common)
            num = 4
        else:
            self.branches = nn.ModuleList([
                nn.Sequential(
                    nn.AdaptiveAvgPool2d(1), _conv(in_channels, branch, 1)),
                ASPPModule((1, 12, 24, 36), in_channels, branch, **common)
            ])
            num = 5
        self.kind = kind
        self.bottleneck = _conv(in_channels + num * branch, in_channels, 3)

    def forward(self, x):
        if self.kind == 'ppm':
            outs = [x, *self.branches(x)]
        else:
            pool, aspp = self.branches
            pooled = nn.functional.interpolate(
                pool(x), size=x.shape[2:], mode='bilinear')
            outs = [x, pooled, *aspp(x)]
        return self.bottleneck(torch.cat(outs, dim=1))


class DualAttention(nn.Module):
    """DANet's position (PAM, keys C/8) and channel (CAM) attention, summed
    (DAHead without its 3x3 convs)."""

    def __init__(self, in_channels: int):
        super().__init__()
        from mmseg.models.decode_heads.da_head import CAM, PAM
        self.pam = PAM(in_channels, max(in_channels // 8, 1))
        self.cam = CAM()

    def forward(self, x):
        return self.pam(x) + self.cam(x)


class EMAUnit(nn.Module):
    """EMANet's EMA unit as in EMAHead without its 3x3 convs: 1x1 conv, EM
    attention (64 bases, 3 stages), ReLU, 1x1 conv + BN, residual, ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        from mmcv.cnn import ConvModule
        from mmseg.models.decode_heads.ema_head import EMAModule
        self.mid_conv = ConvModule(channels, channels, 1, act_cfg=None)
        self.ema = EMAModule(channels, 64, 3, 0.1)
        self.out_conv = ConvModule(
            channels, channels, 1, norm_cfg=_bn(), act_cfg=None)

    def forward(self, x):
        recon = torch.relu(self.ema(self.mid_conv(x)))
        return torch.relu(x + self.out_conv(recon))


class EncodingBlock(nn.Module):
    """EncNet's context encoding module (32 codewords), output path only."""

    def __init__(self, channels: int):
        super().__init__()
        from mmseg.models.decode_heads.enc_head import EncModule
        self.enc = EncModule(
            channels,
            num_codes=32,
            conv_cfg=None,
            norm_cfg=_bn(),
            act_cfg=dict(type='ReLU'))

    def forward(self, x):
        return self.enc(x)[1]


class MMSegISAAttention(nn.Module):
    """mmseg 1.2.2 ``ISAHead``'s attention: its two ``SelfAttentionBlock``s
    and permutations, copied from ``ISAHead.forward`` between ``in_conv`` and
    ``out_conv`` (context only, no residual)."""

    def __init__(self, channels: int, isa_channels: int, down_factor=(8, 8)):
        super().__init__()
        from mmseg.models.decode_heads.isa_head import SelfAttentionBlock
        cfgs = dict(
            conv_cfg=None, norm_cfg=_bn(), act_cfg=dict(type='ReLU'))
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
        align_corners=False,
        **kwargs)
    return HeadFeatures(MODELS.build(cfg))


def _nonlocal(c):
    from mmcv.cnn import NonLocal2d
    return NonLocal2d(c, reduction=2, mode='embedded_gaussian')


def _context_block(c):
    from mmcv.cnn import ContextBlock
    return ContextBlock(c, ratio=1. / 4)


def _se(c):
    from mmseg.models.utils import SELayer
    return SELayer(
        c, ratio=16, act_cfg=(dict(type='ReLU'), dict(type='Sigmoid')))


def _rcca(c):
    from mmcv.ops import CrissCrossAttention
    return Twice(CrissCrossAttention(c))


def _ann(c):
    from mmseg.models.decode_heads.ann_head import APNB
    return APNB(
        in_channels=c,
        channels=c // 2,
        out_channels=c,
        query_scales=(1, ),
        key_pool_scales=(1, 3, 6, 8),
        conv_cfg=None,
        norm_cfg=_bn(),
        act_cfg=dict(type='ReLU'))


def _isa_block(fused):
    # reduction=2: values at NonLocal2d's width (C/2), so that the ratios
    # against NL compare the attention patterns, not the channel widths
    def build(c):
        from mmctx.models.layers.interlaced_attention import ISABlock
        return ISABlock(c, reduction=2, fused_attn=fused)

    return build


def _isa_attention(fused):
    # mmseg ISAHead's settings: key C/2, value = out = C, value bias,
    # padding not masked
    def build(c):
        from mmctx.models.layers.interlaced_attention import \
            InterlacedSparseAttention
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
        from mmctx.models.layers.squeeze_reasoning import SRBlock
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
    Method('NL', 'mmcv NonLocal2d, embedded gaussian, reduction 2',
           _nonlocal, dense=True),
    Method('ISA', 'mmctx ISABlock(reduction=2), explicit softmax(QK^T)V',
           _isa_block(False)),
    Method('ISA-fused', 'mmctx ISABlock(reduction=2), fused SDPA',
           _isa_block(True)),
    Method('SR-GAP', "mmctx SRBlock(squeeze='gap')", _sr_block('gap')),
    Method('SR-GHP', "mmctx SRBlock(squeeze='ghp')", _sr_block('ghp')),
    Method('ISA-attn', 'mmctx InterlacedSparseAttention at mmseg '
           'ISAHead settings, explicit', _isa_attention(False)),
    Method('ISA-attn-fused', 'mmctx InterlacedSparseAttention at mmseg '
           'ISAHead settings, fused SDPA', _isa_attention(True)),
    Method('mmseg-ISA-attn', "mmseg ISAHead's two SelfAttentionBlocks "
           '(isa_channels C/2)', lambda c: MMSegISAAttention(c, c // 2)),
    Method('GC', 'mmcv ContextBlock, ratio 1/4', _context_block),
    Method('SE', 'mmseg SELayer, ratio 16, sigmoid gate', _se),
    Method('DANet', 'mmseg PAM (keys C/8) + CAM; head: DAHead',
           lambda c: DualAttention(c),
           lambda i: _head('DAHead', i, pam_channels=64), dense=True),
    Method('RCCA', 'mmcv CrissCrossAttention applied twice; head: CCHead',
           _rcca, lambda i: _head('CCHead', i, recurrence=2)),
    Method('PPM', 'mmseg PPM (1,2,3,6) + 3x3 bottleneck; head: PSPHead',
           lambda c: PyramidBlock(c, 'ppm'),
           lambda i: _head('PSPHead', i, pool_scales=(1, 2, 3, 6))),
    Method('ASPP', 'mmseg ASPP (1,12,24,36) + image pool + 3x3 bottleneck; '
           'head: ASPPHead', lambda c: PyramidBlock(c, 'aspp'),
           lambda i: _head('ASPPHead', i, dilations=(1, 12, 24, 36))),
    Method('EMA', 'mmseg EMAModule (64 bases, 3 stages) with its 1x1 convs',
           EMAUnit),
    Method('ANN', 'mmseg APNB (key pools 1,3,6,8)', _ann),
    Method('Enc', 'mmseg EncModule (32 codes)', EncodingBlock),
    Method('mmseg.ISAHead', 'mmseg ISAHead (isa_channels 256)',
           head=lambda i: _head('ISAHead', i, isa_channels=256)),
    Method('mmctx.ISAHead', 'mmctx ISAHead (isa_channels 256)',
           head=lambda i: _head('mmctx.ISAHead', i, isa_channels=256)),
    Method('mmctx.SRHead', 'mmctx SRHead (GHP)',
           head=lambda i: _head('mmctx.SRHead', i)),
])


class Preset(NamedTuple):
    """``form``: 'block' (each method's block at C x H x W), 'head-isa'
    (a 3x3 conv to 512 then the block, or a whole head), 'head-sr'
    (two 3x3 convs with the block between, or a whole head) or 'model'
    (a whole segmentor from its config, input 3 x H x W).
    ``whole_heads``: methods measured as their mmseg head in head forms.
    ``quick_methods``: the rows ``--quick`` runs (those the targets are
    about), unless ``--methods`` is given."""
    input: Sequence[int]
    form: str
    methods: Sequence[str]
    quick_methods: Sequence[str] = ()
    whole_heads: Sequence[str] = ()
    sizes: Sequence[int] = ()
    quick_sizes: Sequence[int] = ()
    paper: str = ''
    source: str = ''


BLOCK_PEERS = ('GC', 'SE', 'DANet', 'RCCA', 'PPM', 'ASPP', 'EMA', 'ANN',
               'Enc')
OURS = ('NL', 'ISA', 'ISA-fused', 'SR-GAP', 'SR-GHP')
ISA_VS_MMSEG = ('ISA-attn', 'ISA-attn-fused', 'mmseg-ISA-attn')
PRESETS = {
    'isa-fig1':
    Preset((512, 128, 128),
           'block',
           OURS + ISA_VS_MMSEG + BLOCK_PEERS,
           quick_methods=OURS + ISA_VS_MMSEG,
           paper='isa-fig1',
           source='ISA paper Fig. 1 (Titan XP): ratios to SA'),
    'isa-table13':
    Preset((2048, 128, 128),
           'head-isa',
           ('3x3', ) + OURS + ('DANet', 'RCCA', 'PPM', 'mmseg.ISAHead',
                               'mmctx.ISAHead'),
           quick_methods=('3x3', 'NL', 'ISA', 'SR-GAP', 'SR-GHP'),
           whole_heads=('DANet', 'RCCA', 'PPM'),
           paper='isa-table13',
           source='ISA paper Table 13 (Titan XP); paper GMAC = GFLOPs / 2'),
    'sr-table4':
    Preset((2048, 96, 96),
           'head-sr',
           ('2x3x3', ) + OURS + ('SE', 'RCCA', 'EMA', 'ANN', 'Enc', 'PPM',
                                 'ASPP', 'mmctx.SRHead'),
           quick_methods=('2x3x3', 'NL', 'ISA', 'SR-GAP', 'SR-GHP'),
           whole_heads=SR_TABLE4_WHOLE_HEADS,
           paper='sr-table4',
           source='SR paper Table IV (MACs): overheads over "+2 * 3x3"'),
    'sr-table5':
    Preset((3, 1024, 2048),
           'model',
           tuple(SR_TABLE5),
           quick_methods=tuple(SR_TABLE5),
           paper='sr-table5',
           source='SR paper Table V (GTX 1080 Ti, whole 1024x2048 input)'),
    'scaling':
    Preset((512, 0, 0),
           'block',
           OURS + ('GC', ),
           quick_methods=OURS,
           sizes=(32, 64, 96, 128, 160, 192, 256),
           quick_sizes=(32, 64, 128),
           source='ISA paper Fig. 4 (FLOPs vs size), SR paper Fig. 5a'),
}


def build_module(preset: Preset, name: str, in_channels: int) -> nn.Module:
    """The module measured for row ``name`` of ``preset``."""
    if preset.form == 'model':
        return whole_model(name)
    if preset.form == 'block':
        return METHODS[name].block(in_channels)
    after = preset.form == 'head-sr'
    if name in ('2x3x3', '3x3'):
        return Stem(in_channels, None, after)
    method = METHODS[name]
    if method.block is None or name in preset.whole_heads:
        return method.head(in_channels)
    return Stem(in_channels, method.block(HEAD_CHANNELS), after)


def whole_model(name: str) -> nn.Module:
    """A Table V model from its config, random weights, preprocessed batch
    to logits at the input size."""
    import warnings

    from mmctx.deployment import SegmentorLogits, build_segmentor
    configs = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           os.pardir, 'configs')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # random weights: timing only
        return SegmentorLogits(
            build_segmentor(os.path.join(configs, TABLE5_CONFIGS[name])))


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2: kineto logs each profiler start and stop
    there from C++."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _cpu_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak of the running sum of the CPU allocation trace of ``fn()``."""
    from torch.profiler import ProfilerActivity, profile
    prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
    with _quiet_stderr():
        prof.__enter__()
    try:
        out = fn()
    finally:
        with _quiet_stderr():
            prof.__exit__(None, None, None)
    del out
    nodes = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        size = getattr(node.extra_fields, 'alloc_size', None)
        if size is not None and node.extra_fields.device.type == 'cpu':
            nodes.append((node.start_time_ns, size))
    current = peak = 0
    for _, size in sorted(nodes, key=lambda item: item[0]):
        current += size
        peak = max(peak, current)
    return peak


def peak_memory_mb(step: Callable[[], object], device: torch.device) -> float:
    """Working memory of one ``step()`` above what was allocated before: the
    forward pass, or in train mode forward + backward (the activations
    autograd keeps, the gradients)."""
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        out = step()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before
        del out
        return peak / MB
    return _cpu_peak_bytes(step) / MB


def make_step(module: nn.Module, x: torch.Tensor, mode: str,
              dtype: str) -> Callable[[], object]:
    """One inference forward (``torch.inference_mode``, eval mode) or one
    training step (train mode: forward, then backward from the sum of the
    output to the parameters and the input), in fp32 or bf16 autocast."""
    def autocast():
        if dtype == 'fp32':
            return contextlib.nullcontext()
        return torch.autocast(x.device.type, dtype=torch.bfloat16)

    if mode == 'inference':
        module.eval()

        def infer():
            with torch.inference_mode(), autocast():
                return module(x)
        return infer

    module.train()
    x_train = x.detach().clone().requires_grad_(True)

    def train_step():
        module.zero_grad(set_to_none=True)
        x_train.grad = None
        with autocast():
            out = module(x_train)
        out.float().sum().backward()
    return train_step


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def median_ms(fn: Callable[[], object], device: torch.device, warmup: int,
              repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


class Roofline(NamedTuple):
    """One n x n fp32 matmul: n^3 MACs in ``latency_ms``."""
    n: int
    latency_ms: float

    @property
    def gflops(self) -> float:
        return 2 * self.n**3 / (self.latency_ms * 1e-3) / 1e9


def time_matmul(device: torch.device, n: int, repeats: int) -> Roofline:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    with torch.inference_mode():
        return Roofline(n, median_ms(lambda: a @ b, device, 1, repeats))


def fits_in_memory(method: Method, hw: int, device: torch.device) -> bool:
    """Whether a dense (HW)^2 fp32 attention map, held twice (logits and
    softmax), fits in half of the free memory."""
    if not method.dense:
        return True
    need = 2 * 4 * hw**2
    if device.type == 'cuda':
        free = torch.cuda.mem_get_info(device)[0]
    else:
        import psutil
        free = psutil.virtual_memory().available
    return need < free / 2


STEPS_PER_ROW = 3  # flops, memory, latency


class Progress:
    """tqdm on stderr when installed (mmdet depends on it), else a line
    per step."""

    def __init__(self, total: int, enabled: bool = True):
        self.bar = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, file=sys.stderr, unit='step')
            except ImportError:
                pass

    def step(self, text: str, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.set_description(text)
            self.bar.update(count)
        elif self.enabled:
            print(f'  {text}', file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def measure(module: nn.Module, x: torch.Tensor, warmup: int, repeats: int,
            progress: Progress, name: str, mode: str = 'inference',
            dtype: str = 'fp32') -> Dict:
    """One row: params, forward MACs, peak memory and median latency of an
    inference forward or a training step (:func:`make_step`)."""
    module = module.to(x.device).eval()
    params = sum(p.numel() for p in module.parameters())
    progress.step(f'{name} {mode} {dtype}: flops')
    with torch.no_grad():  # the jit tracer refuses inference tensors
        flops = count_flops(module, x)
    step = make_step(module, x, mode, dtype)
    progress.step(f'{name} {mode} {dtype}: memory')
    # the profiled pass is also the first warm-up run
    peak = peak_memory_mb(step, x.device)
    progress.step(f'{name} {mode} {dtype}: latency')
    latency = median_ms(step, x.device, warmup, repeats)
    module.eval()
    return dict(
        method=name,
        mode=mode,
        dtype=dtype,
        params=int(params),
        flops=int(flops),
        peak_mem_mb=round(float(peak), 3),
        latency_ms=round(float(latency), 3))


def run_size(preset: Preset, names: Sequence[str], shape: Sequence[int],
             device: torch.device, warmup: int, repeats: int,
             progress: Progress, mode: str = 'inference',
             dtypes: Sequence[str] = ('fp32', )) -> Dict:
    """Every method of ``names`` at one input shape, in this process, once
    per dtype."""
    torch.manual_seed(0)
    x = torch.randn(1, *shape, device=device)
    rows, skipped = [], []
    for name in names:
        method = METHODS.get(name)
        if method is not None and \
                not fits_in_memory(method, shape[1] * shape[2], device):
            skipped.append(dict(method=name, reason='(HW)^2 map too large'))
            progress.step(f'{name}: skipped', STEPS_PER_ROW * len(dtypes))
            continue
        try:
            module = build_module(preset, name, shape[0])
        except Exception as err:  # a peer missing from this install
            skipped.append(
                dict(method=name, reason=f'unavailable: {err!r:.120}'))
            progress.step(f'{name}: unavailable', STEPS_PER_ROW * len(dtypes))
            continue
        for dtype in dtypes:
            rows.append(measure(module, x, warmup, repeats, progress, name,
                                mode, dtype))
        del module
        gc.collect()
    return dict(input=list(shape), mode=mode, rows=rows, skipped=skipped)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def machine_description(device: torch.device, threads: int) -> str:
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
        return f'{name}, torch {torch.__version__}'
    model = cpu_model()
    return (f'{model}, {os.cpu_count()} logical CPUs, {threads} torch '
            f'threads, torch {torch.__version__}')


def ratio(row: Dict, ref: Optional[Dict], key: str) -> Optional[float]:
    if ref is None or not ref[key]:
        return None
    return row[key] / ref[key]


def _fmt(value, spec: str, none: str = '-') -> str:
    return none if value is None else format(value, spec)


def markdown_table(result: Dict, preset: Preset, roofline: Roofline) -> str:
    """Our rows with ratios to the reference row of the same run (NL, or
    DF-Seg-v2 for ``sr-table5``), and the paper's figures beside them."""
    rows = result['rows']
    ref_name = reference_row(preset)
    ref = next((r for r in rows if r['method'] == ref_name), None)
    base = next((r for r in rows if r['method'] in ('2x3x3', '3x3')), None)
    training = result.get('mode') == 'train'
    head = ['method', 'params (M)', 'GMAC', 'peak mem (MB)', 'latency (ms)',
            '% of matmul', f'MAC / {ref_name}', f'mem / {ref_name}',
            f'latency / {ref_name}']
    # the papers' figures are inference ones
    paper_head, paper_cells = ([], lambda row: []) if training else \
        _paper_columns(preset, ref)
    if preset.form == 'head-sr':
        head[6:6] = ['+GMAC', '+params (M)', '+mem (MB)']
    lines = ['| ' + ' | '.join(head + paper_head) + ' |',
             '|' + '---|' * (len(head) + len(paper_head))]
    width = len(head) + len(paper_head)
    lines.append(f'| matmul {roofline.n}^3 (roofline) | - | '
                 f'{roofline.n**3 / 1e9:.2f} | - | {roofline.latency_ms:.1f} '
                 '| 100% |' + ' - |' * (width - 6))
    for row in rows:
        achieved = 2 * row['flops'] / (row['latency_ms'] * 1e-3) / 1e9
        cells = [
            row['method'], f"{row['params'] / 1e6:.3f}",
            f"{row['flops'] / 1e9:.2f}", f"{row['peak_mem_mb']:.1f}",
            f"{row['latency_ms']:.1f}",
            '-' if training else f'{100 * achieved / roofline.gflops:.0f}%'
        ]
        if preset.form == 'head-sr':
            cells += _overhead_cells(row, base, preset)
        cells += [
            _fmt(ratio(row, ref, 'flops'), '.3f'),
            _fmt(ratio(row, ref, 'peak_mem_mb'), '.3f'),
            _fmt(ratio(row, ref, 'latency_ms'), '.3f')
        ]
        lines.append('| ' + ' | '.join(cells + paper_cells(row)) + ' |')
    for skip in result['skipped']:
        lines.append(f"| {skip['method']} | skipped: {skip['reason']} |")
    return '\n'.join(lines)


def reference_row(preset: Preset) -> str:
    return TABLE5_REFERENCE if preset.form == 'model' else 'NL'


def dtype_table(result: Dict, dtypes: Sequence[str]) -> str:
    """Each method's latency and peak memory in every dtype against fp32,
    from the same run."""
    by_key = {(r['method'], r['dtype']): r for r in result['rows']}
    others = [d for d in dtypes if d != 'fp32']
    head = ['method'] + [f'{key} {d} / fp32' for d in others
                         for key in ('latency', 'mem')]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for method in dict.fromkeys(r['method'] for r in result['rows']):
        fp32 = by_key.get((method, 'fp32'))
        cells = [method]
        for d in others:
            row = by_key.get((method, d))
            for key in ('latency_ms', 'peak_mem_mb'):
                cells.append(_fmt(ratio(row, fp32, key) if row else None,
                                  '.2f'))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _overhead_cells(row: Dict, base: Optional[Dict],
                    preset: Preset) -> List[str]:
    if base is None or row is base or row['method'] in preset.whole_heads \
            or row['method'].startswith('mmctx.'):
        return ['', '', '']
    return [
        f"{(row['flops'] - base['flops']) / 1e9:.2f}",
        f"{(row['params'] - base['params']) / 1e6:.3f}",
        f"{row['peak_mem_mb'] - base['peak_mem_mb']:.1f}"
    ]


def _paper_columns(preset: Preset, ref: Optional[Dict] = None):
    """Header cells and a row -> cells function for the paper's figures
    (``sr-table5``: also our FPS and FPS ratio, beside the paper's)."""
    if preset.paper == 'sr-table5':
        paper_ref = SR_TABLE5[TABLE5_REFERENCE][2]

        def cells(row):
            params, miou, fps = SR_TABLE5[row['method']]
            ours = _fmt(ratio(ref, row, 'latency_ms') if ref else None,
                        '.2f')
            return [f"{1e3 / row['latency_ms']:.2f}", ours, f'{params:g}',
                    f'{fps}', f'{fps / paper_ref:.2f}', f'{miou:g}']
        return ['FPS', f'FPS / {TABLE5_REFERENCE}', 'paper params (M)',
                'paper FPS', f'paper FPS / {TABLE5_REFERENCE}',
                'paper mIoU (test)'], cells
    if preset.paper == 'isa-table13':
        def cells(row):
            fig = ISA_TABLE13.get(row['method'])
            if fig is None:
                return ['', '', '']
            return [f'{fig[0]}', f'{fig[1] / 2:.1f}', f'{fig[2]}']
        return ['paper mem (MB)', 'paper GMAC', 'paper ms'], cells
    if preset.paper == 'sr-table4':
        def cells(row):
            fig = SR_TABLE4.get(row['method'])
            if fig is None:
                return ['', '', '']
            return [f'{fig[0]:g}', f'{fig[1]:g}', f'{fig[2]:g}']
        return ['paper +GMAC', 'paper +params (M)', 'paper +mem (MB)'], cells
    if preset.paper == 'isa-fig1':
        def cells(row):
            if not row['method'].startswith('ISA'):
                return ['', '', '']
            return [f"{ISA_FIG1_RATIOS[k]:.3f}"
                    for k in ('flops', 'memory', 'latency')]
        return ['paper MAC / SA', 'paper mem / SA', 'paper time / SA'], cells
    return [], lambda row: []


def report_dict(preset_name: str, result: Dict, device: str) -> Dict:
    """The ``--json`` document::

        {"preset": str, "input": [C, H, W], "device": str,
         "rows": [{"method": str, "mode": "inference" | "train",
                   "dtype": "fp32" | "bf16", "params": int,
                   "flops": int (forward MACs), "peak_mem_mb": float,
                   "latency_ms": float}]}

    ``scaling`` adds ``"sizes"``: one ``{"input", "rows", "skipped"}`` per
    size; the top-level ``input`` and ``rows`` are the largest size's.
    """
    return dict(
        preset=preset_name,
        input=result['input'],
        device=device,
        rows=result['rows'])


def plot_scaling(results: List[Dict], path: str, machine: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = [('flops', 'GMAC', 1e9), ('peak_mem_mb', 'peak memory (MB)', 1),
            ('latency_ms', 'latency (ms)', 1)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    names = []
    for res in results:
        names += [r['method'] for r in res['rows'] if r['method'] not in names]
    for ax, (key, label, scale) in zip(axes, keys):
        for name in names:
            pts = [(res['input'][1], r[key] / scale) for res in results
                   for r in res['rows'] if r['method'] == name]
            if pts:
                ax.plot(*zip(*pts), marker='o', label=name)
        ax.set_xlabel('feature size H = W')
        ax.set_ylabel(label)
        ax.set_yscale('log')
        ax.grid(True, which='both', alpha=0.3)
    axes[0].legend(fontsize=8)
    channels = results[0]['input'][0]
    fig.suptitle(f'Cost against feature size, {channels} channels, batch 1 '
                 f'({machine})', fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Params, FLOPs (MACs), peak memory and latency of SR, '
        'ISA and the mmcv/mmseg context modules, side by side.')
    parser.add_argument('preset', choices=sorted(PRESETS))
    parser.add_argument(
        '--input', type=positive_int, nargs=3, metavar=('C', 'H', 'W'),
        help="override the preset's input (for 'scaling': C and the "
        'largest size)')
    parser.add_argument(
        '--methods', nargs='+', metavar='NAME',
        help='subset of rows (the reference row, NL or DF-Seg-v2, always '
        f'kept); known: {", ".join(list(METHODS) + list(SR_TABLE5))}')
    parser.add_argument(
        '--quick', action='store_true',
        help='only the rows the targets are about (NL and ours; isa-fig1: '
        "also mmseg's ISA attention; all rows with --methods), no extra "
        'warm-up run and 1 timed run (default: 1 and 5); scaling: sizes '
        '32, 64, 128')
    parser.add_argument(
        '--mode', choices=('inference', 'train'), default='inference',
        help='inference: one forward (eval, inference_mode); train: one '
        'forward + backward (train mode), peak memory with what autograd '
        'keeps')
    parser.add_argument(
        '--dtype', nargs='+', choices=('fp32', 'bf16'), default=['fp32'],
        help='fp32 and/or bf16 autocast, measured in one run (default fp32)')
    parser.add_argument('--warmup', type=non_negative_int,
                        help='untimed runs')
    parser.add_argument('--repeats', type=positive_int,
                        help='timed runs (median)')
    parser.add_argument('--threads', type=positive_int,
                        help='torch.set_num_threads (default: torch default)')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' or 'cuda[:i]'")
    parser.add_argument('--json', metavar='PATH', type=writable_file,
                        help='write the results')
    parser.add_argument('--plot', metavar='PATH.png', type=writable_file,
                        help="'scaling' only: FLOPs/memory/latency plot")
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if args.plot and args.preset != 'scaling':
        parser.error('--plot is for the scaling preset')
    if args.methods:
        unknown = [m for m in args.methods
                   if m not in METHODS and m not in SR_TABLE5]
        if unknown:
            parser.error(f'--methods: unknown {unknown}; known: '
                         f'{", ".join(METHODS)}')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available in this torch')
    return args


def main(argv=None) -> Dict:
    args = parse_args(argv)
    preset = PRESETS[args.preset]
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    warmup = args.warmup if args.warmup is not None else (0 if args.quick
                                                           else 1)
    repeats = args.repeats or (1 if args.quick else 5)
    names = list(preset.quick_methods if args.quick else preset.methods)
    if args.methods:
        names = list(preset.methods)
        names = [n for n in names if n in args.methods or
                 n == reference_row(preset) or n in ('2x3x3', '3x3')]
    if preset.sizes:
        channels = args.input[0] if args.input else preset.input[0]
        sizes = preset.quick_sizes if args.quick else preset.sizes
        if args.input:
            sizes = [s for s in sizes if s <= args.input[1]] or [args.input[1]]
        shapes = [(channels, s, s) for s in sizes]
    else:
        shapes = [tuple(args.input) if args.input else tuple(preset.input)]
    machine = machine_description(device, threads)
    print(f'# {args.preset}: {preset.source}', flush=True)
    print(f'device: {machine}; warm-up {warmup} (+1 profiled pass), '
          f'median of {repeats}', flush=True)

    dtypes = list(dict.fromkeys(args.dtype))
    progress = Progress(
        STEPS_PER_ROW * len(names) * len(shapes) * len(dtypes) + 1,
        not args.no_progress)
    progress.step('matmul roofline')
    roofline = time_matmul(device, 1024 if args.quick else 2048,
                           3 if args.quick else 5)
    results = []
    start = time.perf_counter()
    for shape in shapes:
        results.append(run_size(preset, names, shape, device, warmup,
                                repeats, progress, args.mode, dtypes))
    progress.close()
    print(f'\nmatmul roofline: {roofline.gflops:.1f} GFLOP/s fp32 '
          f'({roofline.n}^3); "% of matmul" = '
          '2 x MACs / latency against it.')
    for res in results:
        size = 'x'.join(map(str, res['input']))
        for dtype in dtypes:
            rows = [r for r in res['rows'] if r['dtype'] == dtype]
            print(f'\n## input 1x{size}, {args.mode}, {dtype}\n')
            print(markdown_table(dict(res, rows=rows), preset, roofline))
        if len(dtypes) > 1:
            print(f'\n## input 1x{size}, {args.mode}: dtypes against fp32\n')
            print(dtype_table(res, dtypes))
    source = 'CUDA allocator' if device.type == 'cuda' else \
        'CPU allocation trace'
    step = 'forward + backward' if args.mode == 'train' else 'forward'
    print(f'\nGMAC: forward multiply-adds counted by mmengine (1 MAC = 2 '
          f'FLOPs); peak mem: {step} working memory ({source}); '
          f'measured in {time.perf_counter() - start:.0f} s.')

    doc = report_dict(args.preset, results[-1], machine)
    if preset.sizes:
        doc['sizes'] = [dict(input=r['input'], rows=r['rows'],
                             skipped=r['skipped']) for r in results]
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(doc, f, indent=1)
    if args.plot:
        plot_scaling(results, args.plot, machine)
    return doc


if __name__ == '__main__':
    main()
