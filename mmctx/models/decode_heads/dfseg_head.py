"""The DF-Seg decoder, with PPM (DF-Seg) or a Squeeze Reasoning block
(SRNet's real-time model, SR paper Sec. IV-B, Table V) on the deepest
level."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.psp_head import PPM
from mmseg.models.utils import resize

from mmctx.registry import MODELS
from ..layers._checks import check_choice, check_positive_int
from ..layers.sr import SRBlock
from ._checks import check_sr_cfg


@MODELS.register_module()
class DFSegHead(BaseDecodeHead):
    """DF-Seg decode head over the three DFNet levels ``(x3, x4, x5)``.

    ::

        x5 -> context -> 1x1 ---------------.
        x4 -----------> 1x1 -> fuse(up, cat) -> 3x3 -.
        x3 -----------> 1x1 --------------> fuse(up, cat) -> 3x3
           -> classifier (3x3 + norm + ReLU) -> dropout -> conv_seg

    ``context='ppm'`` is DF-Seg's pyramid pooling (pool sizes 1, 2, 3, 6,
    branches 1x1 conv + norm, then a 1x1 bottleneck with norm, ReLU and
    Dropout 0.1 to ``fusion_channels``). ``context='sr'`` replaces it by an
    :class:`SRBlock` on the full ``x5`` channels, and the following 1x1 conv
    takes those channels: with the paper's block settings this is SRNet's
    real-time model, whose parameter count matches Table V (18.87M against
    18.83M for DF-Seg-v2 at 19 classes). Fusion nodes upsample the coarser
    map bilinearly (``align_corners`` of the head; the public code uses
    True), concatenate it before the finer one and apply a 3x3 conv without
    bias or norm, as in the public code.

    Args:
        context (str): ``'ppm'`` or ``'sr'``. Default: 'ppm'.
        pool_scales (Sequence[int]): PPM pooling sizes (``'ppm'`` only).
            Default: (1, 2, 3, 6).
        sr_cfg (dict, optional): Options of :class:`SRBlock` except
            ``in_channels`` and ``conv_cfg``, as :class:`SRHead` takes them
            (``'sr'`` only). Default: None, the block's defaults, which are
            the paper's.
        fusion_channels (int): Channels of the lateral convs and fusion
            nodes. Default: 128.
        **kwargs: :class:`BaseDecodeHead` arguments. ``in_channels`` are the
            three levels' channels (DFNet: ``[128, 256, 512]``),
            ``in_index`` their indices (default ``[0, 1, 2]``), ``channels``
            the classifier's width (256 in DF-Seg) and ``dropout_ratio`` the
            dropout before ``conv_seg`` (0.1).
    """

    def __init__(self,
                 context: str = 'ppm',
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 sr_cfg: Optional[Dict] = None,
                 fusion_channels: int = 128,
                 **kwargs):
        in_channels = kwargs.get('in_channels')
        if not isinstance(in_channels, (list, tuple)) or len(in_channels) != 3:
            raise ValueError('DFSegHead takes three levels (x3, x4, x5): '
                             'in_channels must have three entries, got '
                             f'{in_channels!r}')
        sr_cfg = check_sr_cfg(sr_cfg, kwargs, 'DFSegHead', in_channels[2],
                              'in_channels[2]')
        if sr_cfg and context != 'sr':
            raise ValueError(
                f"sr_cfg is for context='sr', got context={context!r}")
        kwargs.setdefault('in_index', [0, 1, 2])
        super().__init__(input_transform='multiple_select', **kwargs)
        self.context_type = check_choice(context, 'context', ('ppm', 'sr'))
        self.fusion_channels = check_positive_int(fusion_channels,
                                                  'fusion_channels')
        x3_channels, x4_channels, x5_channels = self.in_channels
        if context == 'ppm':
            self.ppm = PPM(
                pool_scales,
                x5_channels,
                fusion_channels,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=None,
                align_corners=self.align_corners)
            self.bottleneck = nn.Sequential(
                ConvModule(
                    x5_channels + len(pool_scales) * fusion_channels,
                    fusion_channels,
                    1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg), nn.Dropout2d(0.1))
            context_channels = fusion_channels
        else:
            self.sr_block = SRBlock(
                x5_channels, conv_cfg=self.conv_cfg, **sr_cfg)
            context_channels = x5_channels
        self.lateral_convs = nn.ModuleList(
            build_conv_layer(self.conv_cfg, channels, fusion_channels, 1)
            for channels in (context_channels, x4_channels, x3_channels))
        self.fusion_convs = nn.ModuleList(
            build_conv_layer(
                self.conv_cfg,
                2 * fusion_channels,
                fusion_channels,
                3,
                padding=1,
                bias=False) for _ in range(2))
        self.classifier = ConvModule(
            fusion_channels,
            self.channels,
            3,
            padding=1,
            bias=True,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def _context(self, x5: torch.Tensor) -> torch.Tensor:
        if self.context_type == 'sr':
            return self.sr_block(x5)
        return self.bottleneck(torch.cat(self.ppm(x5) + [x5], dim=1))

    def _fuse(self, conv: nn.Module, coarse: torch.Tensor,
              fine: torch.Tensor) -> torch.Tensor:
        coarse = resize(
            coarse,
            size=fine.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        return conv(torch.cat([coarse, fine], dim=1))

    def forward(self, inputs):
        x3, x4, x5 = self._transform_inputs(inputs)
        levels = [self._context(x5), x4, x3]
        x5, x4, x3 = (conv(x) for conv, x in zip(self.lateral_convs, levels))
        fused = self._fuse(self.fusion_convs[0], x5, x4)
        fused = self._fuse(self.fusion_convs[1], fused, x3)
        return self.cls_seg(self.classifier(fused))
