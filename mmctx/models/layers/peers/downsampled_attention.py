"""Dense self-attention on a down-sampled map: the efficiency baseline ISA
paper Table 12 compares with ("SA-2x": "we directly down-sample the feature
map for 2x before computing the dense affinity matrix", after the
sub-sampling of the non-local paper, Wang et al. 2018, Sec. 3.3).

The whole input is max-pooled by ``scale``, one dense
:class:`~mmctx.models.layers.SelfAttentionUnit` runs on the pooled map, and
its output is upsampled bilinearly back to the input size: openseg's
``_SelfAttentionBlock(scale=2)`` (the ISA authors' code). The affinity
matrix shrinks ``scale^4``-fold. mmcv's ``NonLocal2d(sub_sample=True)`` is
the other reading: it pools only keys and values and keeps every query.
"""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_bool, check_choice, check_positive_int
from .._options import RecordedOptions
from .._residual import check_input
from ..isa.self_attention_unit import SelfAttentionUnit

POOLS = ('max', 'avg')


@register_context_block
class DownsampledSelfAttention(RecordedOptions, nn.Module):
    """``upsample(SA(pool_scale(x)))``: the context map, without residual
    (a context module of :class:`mmctx.models.decode_heads.ContextHead`).

    Args:
        in_channels (int): Channels of the input.
        key_channels (int): Channels of queries and keys.
        value_channels (int, optional): Channels of values. Default: None,
            ``in_channels``.
        out_channels (int, optional): Channels of the output. Default: None,
            ``in_channels``.
        scale (int): Pooling kernel and stride. A map smaller than ``scale``
            along a side is pooled by its size there. Default: 2.
        pool (str): ``'max'`` (openseg) or ``'avg'``. Default: 'max'.
        align_corners (bool): Of the bilinear upsampling. Default: True
            (openseg).
        fused_attn (bool): See :class:`SelfAttentionUnit`. Default: True.
        value_bias (bool): See :class:`SelfAttentionUnit`. Default: False.
        conv_cfg (dict, optional): Config of conv layers. Default: None.
        norm_cfg (dict, optional): Config of norm layers.
            Default: ``dict(type='BN')``.
        act_cfg (dict, optional): Config of activations.
            Default: ``dict(type='ReLU')``.
    """

    recorded_options = ('pool', 'align_corners')

    def __init__(self,
                 in_channels: int,
                 key_channels: int,
                 value_channels: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 scale: int = 2,
                 pool: str = 'max',
                 align_corners: bool = True,
                 fused_attn: bool = True,
                 value_bias: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, 'in_channels')
        self.scale = check_positive_int(scale, 'scale')
        self.pool = check_choice(pool, 'pool', POOLS)
        self.align_corners = check_bool(align_corners, 'align_corners')
        self.attention = SelfAttentionUnit(
            in_channels,
            key_channels,
            in_channels if value_channels is None else value_channels,
            in_channels if out_channels is None else out_channels,
            value_bias=value_bias,
            fused_attn=fused_attn,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.record_options()

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H, W)."""
        check_input(x, self.in_channels, type(self).__name__)
        size = x.shape[-2:]
        kernel = (min(self.scale, size[0]), min(self.scale, size[1]))
        pool = F.max_pool2d if self.pool == 'max' else F.avg_pool2d
        context = self.attention(pool(x, kernel))
        return F.interpolate(
            context,
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
