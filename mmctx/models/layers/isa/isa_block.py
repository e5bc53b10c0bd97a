"""ISABlock: interlaced sparse self-attention as a residual block for ResNet
bottlenecks (mmcv's ``NonLocal2d`` pattern), the identity at init."""
from typing import Optional

from mmcv.cnn import ConvModule
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_positive_int
from .._residual import ResidualContextBlock
from .interlaced_sparse_attention import DownFactor, InterlacedSparseAttention


@register_context_block
class ISABlock(ResidualContextBlock):
    """Interlaced sparse self-attention as a residual plugin block.

    ``y = x + W_out(ISA(x))``, mmcv's ``NonLocal2d`` pattern: values and
    outputs at ``in_channels // reduction`` channels, queries and keys at
    half of that (the paper); ``W_out`` (1x1 conv [+ norm]) restores
    ``in_channels`` and starts at zero, so the block starts as the identity
    (:class:`ResidualContextBlock`).

    Used with mmdet/mmseg ResNets::

        plugins=[dict(cfg=dict(type='ISABlock'),
                      stages=(False, False, False, True),
                      position='after_conv3')]

    Args:
        in_channels (int): Channels of the input and output.
        reduction (int): Channel reduction of the attention: values and the
            attention output have ``in_channels // reduction`` channels
            (2048 -> 512 at stage 4 of a ResNet-50 by default, cheaper than
            ``NonLocal2d``'s 1024). Default: 4.
        down_factor (int | tuple[int, int]): See
            :class:`InterlacedSparseAttention`. Default: (8, 8).
        order (str): See :class:`InterlacedSparseAttention`.
        mask_padding (bool): See :class:`InterlacedSparseAttention`.
        fused_attn (bool): See :class:`SelfAttentionUnit`.
        value_bias (bool): See :class:`SelfAttentionUnit`.
        conv_cfg (dict, optional): Config of conv layers. Default: None.
        norm_cfg (dict, optional): Config of norm layers (GN for a
            detector: the ISA README's Design says why). Default: None.
        act_cfg (dict, optional): Config of activations inside the attention.
            Default: ``dict(type='ReLU')``.
        zero_init (bool): Zero ``W_out`` (its norm if any): the block starts
            as the identity. Default: True.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Default: None.
        with_cp (bool): Activation checkpointing (mmcv's ``with_cp``, as a
            ResNet with ``with_cp=True`` has in its bottlenecks): each
            attention step keeps only its input for the backward (see
            :class:`InterlacedSparseAttention`). Default: False.
    """

    _abbr_ = 'isa_block'

    def __init__(self,
                 in_channels: int,
                 reduction: int = 4,
                 down_factor: DownFactor = (8, 8),
                 order: str = 'long_short',
                 mask_padding: bool = True,
                 fused_attn: bool = True,
                 value_bias: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 zero_init: bool = True,
                 init_cfg: Optional[dict] = None,
                 with_cp: bool = False):
        super().__init__(in_channels, zero_init, init_cfg)
        self.reduction = check_positive_int(reduction, 'reduction')
        if reduction > in_channels:
            raise ValueError(
                f'reduction={reduction} leaves no channel of in_channels='
                f'{in_channels} (the attention has in_channels // reduction)')
        inter_channels = in_channels // reduction
        self.attention = InterlacedSparseAttention(
            in_channels,
            key_channels=max(inter_channels // 2, 1),
            value_channels=inter_channels,
            out_channels=inter_channels,
            down_factor=down_factor,
            order=order,
            mask_padding=mask_padding,
            fused_attn=fused_attn,
            value_bias=value_bias,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            with_cp=with_cp)
        self.with_cp = self.attention.with_cp
        self.conv_out = ConvModule(
            inter_channels,
            in_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.zero_init_residual()

    def out_layer(self) -> ConvModule:
        return self.conv_out

    def residual(self, x: Tensor) -> Tensor:
        """``W_out(ISA(x))``; the block's ``forward`` adds ``x``."""
        return self.conv_out(self.attention(x))
