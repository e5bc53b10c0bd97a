"""SRNet decode head: the Squeeze Reasoning block in a dilated-FCN head."""
from typing import Dict, List, Optional

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.fcn_head import FCNHead

from mmctx.registry import MODELS
from ..layers.sr import SRBlock
from ._checks import check_decode_head_args, check_sr_cfg


@MODELS.register_module()
class SRHead(FCNHead):
    """Squeeze Reasoning head (SRNet, paper Sec. III-D.1).

    The SR block sits between two 3x3 convs with ``channels`` (512) outputs
    at the end of a dilated FCN; the head input is concatenated with the
    result and fused by a 3x3 conv before the classifier. This is the
    topology of mmseg's ``NLHead``/``GCHead``, with the paper's block in
    place of theirs::

        x -> conv3x3 -> SRBlock -> conv3x3 -> cat(x, .) -> conv3x3 -> cls_seg

    Args:
        sr_cfg (dict, optional): Options of
            :class:`mmctx.models.layers.SRBlock` (all but ``in_channels``,
            which is ``channels``, and ``conv_cfg``, the head's): ``ratio``,
            ``num_nodes``, ``squeeze``, ``reasoning``, ``node_order``,
            ``ghp_scale``, ``ghp_projections``, ``zero_init``,
            ``norm_cfg`` (after the block's ``W_R``), ``act_cfg`` (the
            reasoning's), ``init_cfg``, ``with_cp`` (activation
            checkpointing of the block). Default: None, the block's defaults,
            which are the paper's (ratio 2, 16 nodes, GHP, GCN).
        **kwargs: :class:`mmseg.models.decode_heads.FCNHead` arguments
            (``in_channels``, ``channels``, ``num_classes``,
            ``concat_input``, ``dropout_ratio``, ``norm_cfg``,
            ``align_corners``, ``in_index``, ``input_transform``, ...),
            except ``num_convs``, which is 2 by construction.
    """

    def __init__(self, sr_cfg: Optional[Dict] = None, **kwargs):
        sr_cfg = check_sr_cfg(sr_cfg, kwargs, 'SRHead', kwargs.get('channels'),
                              'channels')
        if 'num_convs' in kwargs:
            raise TypeError(
                'SRHead always has num_convs=2 (the SR block sits between '
                f'the two convs); got num_convs={kwargs["num_convs"]!r}')
        check_decode_head_args(kwargs)
        super().__init__(num_convs=2, **kwargs)
        self.sr_block = SRBlock(
            self.channels, conv_cfg=self.conv_cfg, **sr_cfg)

    def _forward_feature(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Features before ``cls_seg``: (N, channels, H, W)."""
        x = self._transform_inputs(inputs)
        feats = self.convs[0](x)
        feats = self.sr_block(feats)
        feats = self.convs[1](feats)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats


@MODELS.register_module()
class SRModuleHead(BaseDecodeHead):
    """The public code's later SRNet head, ``ModuleHead`` (lxtGH/SFSegNets
    ``network/nn/operators.py`` at ba475ba, 2024; :class:`SRHead` is the
    head of 531067b, 2021)::

        x -> conv1x1 (bias, no norm) -> SRBlock -> conv3x3 + norm + act
          -> dropout -> cls_seg

    Args:
        sr_cfg (dict, optional): Options of
            :class:`mmctx.models.layers.SRBlock`, as in :class:`SRHead`.
            ``public_code_cfg(channels)`` of
            ``mmctx.models.layers.sr`` is the public block.
            Default: None, the block's defaults (the paper's).
        **kwargs: ``BaseDecodeHead`` arguments (``in_channels``,
            ``channels``, ``num_classes``, ``dropout_ratio``: 0.1 by default,
            as the public head's ``Dropout2d``, ``norm_cfg``, ...).
    """

    def __init__(self, sr_cfg: Optional[Dict] = None, **kwargs):
        sr_cfg = check_sr_cfg(sr_cfg, kwargs, 'SRModuleHead',
                              kwargs.get('channels'), 'channels')
        check_decode_head_args(kwargs)
        super().__init__(**kwargs)
        self.project = ConvModule(
            self.in_channels,
            self.channels,
            kernel_size=1,
            conv_cfg=self.conv_cfg,
            act_cfg=None)
        self.sr_block = SRBlock(
            self.channels, conv_cfg=self.conv_cfg, **sr_cfg)
        # the public 3x3 conv has a bias before its norm
        self.bottleneck = ConvModule(
            self.channels,
            self.channels,
            kernel_size=3,
            padding=1,
            bias=True,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def _forward_feature(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Features before ``cls_seg``: (N, channels, H, W)."""
        x = self._transform_inputs(inputs)
        return self.bottleneck(self.sr_block(self.project(x)))

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return self.cls_seg(self._forward_feature(inputs))
