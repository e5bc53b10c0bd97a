"""openseg's ``ISA_Module``: one :class:`InterlacedSparseAttention` per down
factor, fused with the input; the core of the ISA head."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from .._checkpoint import checkpointed
from .._checks import check_bool, check_choice, check_positive_int, check_ratio
from .._residual import check_input
from .interlaced_sparse_attention import (DownFactor,
                                          InterlacedSparseAttention,
                                          as_down_factors)

FUSIONS = ('concat', 'residual')


class ISAModule(nn.Module):
    """ISA context module: openseg's ``ISA_Module``.

    One :class:`InterlacedSparseAttention` per down factor (in ``stages``),
    then a fusion with the input (paper Sec. 3.3):

    * ``'concat'``: ``fuse(cat([x, context_1, ..., context_k]))`` with
      ``fuse`` a 1x1 conv + norm + act to ``out_channels``, followed by
      ``Dropout2d(dropout_ratio)``. With one down factor this is openseg's
      ``ISA_Module`` (mmseg's ``ISAHead`` concatenates ``[context, x]``:
      the input columns of ``fuse.conv.weight`` swap halves). openseg adds an
      extra 1x1 projection of ``x`` when there are several down factors; here
      ``x`` is concatenated as is.
    * ``'residual'``: ``x + dropout(fuse(cat(contexts)))`` with ``fuse`` a
      1x1 conv + norm (no activation, so the sum can decrease features);
      needs ``out_channels == in_channels``.

    Args:
        in_channels (int): Channels of the input.
        key_channels (int): Channels of queries and keys.
        out_channels (int): Channels of each context map and of the output.
        down_factors (Sequence): Down factors, one
            :class:`InterlacedSparseAttention` each; a single factor (``d``
            or ``(d_h, d_w)``) means one. Default: ((8, 8), ).
        fusion (str): ``'concat'`` or ``'residual'``. Default: ``'concat'``.
        order (str): See :class:`InterlacedSparseAttention`.
        mask_padding (bool): See :class:`InterlacedSparseAttention`.
        fused_attn (bool): See :class:`SelfAttentionUnit`.
        value_bias (bool): See :class:`SelfAttentionUnit`.
        dropout_ratio (float): Ratio of the ``Dropout2d`` after the fusion
            (openseg's ISA-Net: 0.05). 0 disables it. Default: 0.05.
        value_channels (int, optional): Channels of values. Default: None,
            meaning ``out_channels`` (openseg's head: 512).
        conv_cfg (dict, optional): Config of conv layers. Default: None.
        norm_cfg (dict, optional): Config of norm layers.
            Default: ``dict(type='BN')``.
        act_cfg (dict, optional): Config of activations.
            Default: ``dict(type='ReLU')``.
        with_cp (bool): Activation checkpointing (mmcv's ``with_cp``): each
            attention step (see :class:`InterlacedSparseAttention`) and the
            fusion keep only their inputs for the backward, which runs them
            again; the same values, gradients, dropout masks and BatchNorm
            running statistics as without it. Default: False.
    """

    def __init__(self,
                 in_channels: int,
                 key_channels: int,
                 out_channels: int,
                 down_factors: Sequence[DownFactor] = ((8, 8), ),
                 fusion: str = 'concat',
                 order: str = 'long_short',
                 mask_padding: bool = True,
                 fused_attn: bool = True,
                 value_bias: bool = False,
                 dropout_ratio: float = 0.05,
                 value_channels: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 with_cp: bool = False):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, 'in_channels')
        self.out_channels = check_positive_int(out_channels, 'out_channels')
        self.fusion = check_choice(fusion, 'fusion', FUSIONS)
        self.with_cp = check_bool(with_cp, 'with_cp')
        self.down_factors = as_down_factors(down_factors)
        if fusion == 'residual' and out_channels != in_channels:
            raise ValueError(
                "fusion='residual' needs out_channels == in_channels, got "
                f'out_channels={out_channels}, in_channels={in_channels}')
        check_ratio(dropout_ratio, 'dropout_ratio')
        layer_cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.stages = nn.ModuleList([
            InterlacedSparseAttention(
                in_channels,
                key_channels,
                value_channels=out_channels
                if value_channels is None else value_channels,
                out_channels=out_channels,
                down_factor=d,
                order=order,
                mask_padding=mask_padding,
                fused_attn=fused_attn,
                value_bias=value_bias,
                act_cfg=act_cfg,
                with_cp=with_cp,
                **layer_cfgs) for d in self.down_factors
        ])
        context_channels = out_channels * len(self.down_factors)
        if fusion == 'concat':
            self.fuse = ConvModule(
                in_channels + context_channels,
                out_channels,
                1,
                act_cfg=act_cfg,
                **layer_cfgs)
        else:
            self.fuse = ConvModule(
                context_channels, out_channels, 1, act_cfg=None, **layer_cfgs)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 \
            else None

    def _dropout(self, x: Tensor) -> Tensor:
        return x if self.dropout is None else self.dropout(x)

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H, W)."""
        check_input(x, self.in_channels, type(self).__name__)
        contexts = [stage(x) for stage in self.stages]
        if self.with_cp:
            return checkpointed(self, self._fuse, x, *contexts)
        return self._fuse(x, *contexts)

    def _fuse(self, x: Tensor, *contexts: Tensor) -> Tensor:
        if self.fusion == 'concat':
            return self._dropout(self.fuse(torch.cat([x, *contexts], dim=1)))
        context = contexts[0] if len(contexts) == 1 else torch.cat(
            contexts, dim=1)
        return x + self._dropout(self.fuse(context))
