"""SRNet decode head: the Squeeze Reasoning block in a dilated-FCN head."""
from typing import Dict, List, Optional, Union

import torch
from mmseg.models.decode_heads.fcn_head import FCNHead

from mmctx.registry import MODELS
from ..layers.squeeze_reasoning import (SRBlock, check_num_nodes,
                                        reduced_channels)
from ._checks import check_decode_head_args


@MODELS.register_module()
class SRHead(FCNHead):
    """Squeeze Reasoning head (SRNet, paper Sec. III-D.1).

    The SR block sits between two 3x3 convs with ``channels`` (512) outputs
    at the end of a dilated FCN; the head input is concatenated with the
    result and fused by a 3x3 conv before the classifier. This is the
    topology of mmseg's ``NLHead``/``GCHead``, with the paper's block in
    place of theirs::

        x -> conv3x3 -> SRBlock -> conv3x3 -> cat(x, .) -> conv3x3 -> cls_seg

    Every option of :class:`mmctx.models.layers.SRBlock` is passed through;
    the block's ``norm_cfg``/``act_cfg`` are called ``sr_norm_cfg`` and
    ``sr_act_cfg`` here because ``norm_cfg``/``act_cfg`` belong to the
    head's convs (BaseDecodeHead).

    Args:
        ratio (int | float): Channel reduction ratio of the block. Default: 2.
        num_nodes (int): Number of graph nodes K. Default: 16.
        squeeze (str): ``'gap'`` or ``'ghp'`` (Eq. 4). Default: 'ghp'.
        reasoning (str): ``'gcn'`` (Eq. 5), ``'attention'`` (Eq. 6),
            ``'fc'`` or ``'none'``. Default: 'gcn'.
        node_order (str): ``'contiguous'`` (paper) or ``'strided'`` (public
            code). Default: 'contiguous'.
        ghp_scale (str): ``'mean'`` or ``'sum'`` (Eq. 4, public code).
            Default: 'mean'.
        ghp_projections (int): 1 (paper, Table IV) or 2 (public code).
            Default: 1.
        zero_init (bool): Start the block as the identity. Default: True.
        sr_norm_cfg (dict | None): Norm after the block's ``W_R``.
            Default: None (Eq. 7).
        sr_act_cfg (dict | None): Activation of the reasoning step.
            Default: dict(type='ReLU').
        **kwargs: :class:`mmseg.models.decode_heads.FCNHead` arguments
            (``in_channels``, ``channels``, ``num_classes``,
            ``concat_input``, ``dropout_ratio``, ``norm_cfg``,
            ``align_corners``, ``in_index``, ``input_transform``, ...),
            except ``num_convs``, which is 2 by construction.
    """

    def __init__(self,
                 ratio: Union[int, float] = 2,
                 num_nodes: int = 16,
                 squeeze: str = 'ghp',
                 reasoning: str = 'gcn',
                 node_order: str = 'contiguous',
                 ghp_scale: str = 'mean',
                 ghp_projections: int = 1,
                 zero_init: bool = True,
                 sr_norm_cfg: Optional[Dict] = None,
                 sr_act_cfg: Optional[Dict] = dict(type='ReLU'),
                 **kwargs):
        if 'num_convs' in kwargs:
            raise TypeError(
                'SRHead always has num_convs=2 (the SR block sits between '
                f'the two convs); got num_convs={kwargs["num_convs"]!r}')
        check_decode_head_args(kwargs)
        if 'channels' in kwargs:
            check_num_nodes(
                num_nodes,
                reduced_channels(kwargs['channels'], ratio, 'channels'),
                'channels')
        super().__init__(num_convs=2, **kwargs)
        self.sr_block = SRBlock(
            self.channels,
            ratio=ratio,
            num_nodes=num_nodes,
            squeeze=squeeze,
            reasoning=reasoning,
            node_order=node_order,
            ghp_scale=ghp_scale,
            ghp_projections=ghp_projections,
            zero_init=zero_init,
            conv_cfg=self.conv_cfg,
            norm_cfg=sr_norm_cfg,
            act_cfg=sr_act_cfg)

    def _forward_feature(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Features before ``cls_seg``: (N, channels, H, W)."""
        x = self._transform_inputs(inputs)
        feats = self.convs[0](x)
        feats = self.sr_block(feats)
        feats = self.convs[1](feats)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats
