"""ISANet decode head: interlaced sparse self-attention on a dilated FCN."""
from typing import Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from mmctx.registry import MODELS
from ..layers._checks import check_positive_int
from ..layers.isa import DownFactor, ISAModule, as_down_factors
from ._checks import check_decode_head_args

#: State-dict metadata of a head: options its weights are only right with.
OPTIONS_KEY = 'mmctx_options'


@MODELS.register_module()
class ISAHead(BaseDecodeHead):
    """Interlaced Sparse Self-Attention head (ISA paper Sec. 4.1, openseg's
    ISA-Net).

    A 3x3 conv reduces the backbone feature to ``channels`` (512), an
    :class:`mmctx.models.layers.ISAModule` (long-range then short-range
    attention with ``isa_channels`` (256) query/key channels) computes the
    context, ``[x, context]`` is fused by a 1x1 conv + norm + act and
    classified::

        x -> in_conv (3x3) -> ISA -> cat(., context) -> fuse (1x1) -> cls_seg

    Drop-in for mmseg's ``ISAHead``: it accepts every argument of that head
    with the same meaning (``isa_channels``, ``down_factor`` and the
    ``BaseDecodeHead`` ones), so a config switches by changing only
    ``type='ISAHead'`` to ``type='mmctx.ISAHead'``. The defaults follow the
    paper and the official code (openseg) where mmseg departs from them, and
    fix the padding:

    ============== ======================== =================================
    argument       default here (openseg)   mmseg ``ISAHead``
    ============== ======================== =================================
    value_bias     False                    True
    mask_padding   True (padding masked)    False (zeros attended to)
    concat order   ``[x, context]``         ``[context, x]``
    ============== ======================== =================================

    ``tools/convert_mmseg_isanet.py`` turns an mmseg ISANet checkpoint into
    one for this head with ``value_bias=True, mask_padding=False``, which then
    gives the same logits.

    Args:
        isa_channels (int): Query/key channels of the attention (mmseg's
            name; openseg's ``key_channels``).
        down_factor (int | tuple[int, int] | Sequence[tuple[int, int]]):
            The down factor ``(d_h, d_w)`` (interval of the long-range groups
            and size of the short-range windows, paper Table 8's ``P_h,
            P_w``), or several of them: one ISA per factor, all contexts
            concatenated (openseg's ``down_factors``). Default: (8, 8).
        order (str): ``'long_short'`` or ``'short_long'`` (paper Table 9).
            Default: 'long_short'.
        mask_padding (bool): Mask the padding added to reach a multiple of
            the down factor out of the attention. Default: True.
        fused_attn (bool): Use ``F.scaled_dot_product_attention``.
            Default: True.
        value_bias (bool): Bias in the value convs. Default: False.
        fusion (str): ``'concat'`` (paper, openseg, mmseg) or
            ``'residual'`` (``x + fuse(context)``). Default: 'concat'.
        with_cp (bool): Activation checkpointing of the ISA module (mmcv's
            ``with_cp``): each attention step and the fusion keep only their
            inputs for the backward, which runs them again. Values,
            gradients and BatchNorm running statistics are those without
            it. Default: False.
        **kwargs: :class:`mmseg.models.decode_heads.BaseDecodeHead`
            arguments (``in_channels``, ``channels``, ``num_classes``,
            ``dropout_ratio`` (before ``conv_seg``; openseg's 0.05),
            ``norm_cfg``, ``align_corners``, ``in_index``,
            ``input_transform``, ...).
    """

    def __init__(self,
                 isa_channels: int,
                 down_factor: Union[DownFactor, Sequence[DownFactor]] = (8, 8),
                 order: str = 'long_short',
                 mask_padding: bool = True,
                 fused_attn: bool = True,
                 value_bias: bool = False,
                 fusion: str = 'concat',
                 with_cp: bool = False,
                 **kwargs):
        check_decode_head_args(kwargs)
        check_positive_int(isa_channels, 'isa_channels')
        down_factors = as_down_factors(down_factor, 'down_factor')
        super().__init__(**kwargs)
        self.down_factor = down_factor
        self.mask_padding, self.value_bias = mask_padding, value_bias
        self.in_conv = ConvModule(
            self.in_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        # dropout_ratio=0: BaseDecodeHead's Dropout2d before conv_seg is the
        # same layer at the same place (openseg: fuse -> Dropout2d -> cls)
        self.isa_module = ISAModule(
            self.channels,
            isa_channels,
            self.channels,
            down_factors=down_factors,
            fusion=fusion,
            order=order,
            mask_padding=mask_padding,
            fused_attn=fused_attn,
            value_bias=value_bias,
            dropout_ratio=0,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            with_cp=with_cp)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args,
                              **kwargs):
        """Refuse weights recorded (``OPTIONS_KEY`` in the state dict's
        metadata, written by ``tools/convert_mmseg_isanet.py``) to need
        other values of options that change the results."""
        recorded = local_metadata.get(OPTIONS_KEY, {})
        for name, value in recorded.items():
            if getattr(self, name, value) != value:
                raise ValueError(
                    f'the checkpoint\'s {prefix[:-1]} gives its results with '
                    f'{name}={value!r} (recorded when it was converted), but '
                    f'this ISAHead has {name}={getattr(self, name)!r}: set '
                    f'model.{prefix}{name}={value!r}')
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      *args, **kwargs)

    def _forward_feature(self, inputs: Tuple[torch.Tensor]) -> torch.Tensor:
        """Features before ``cls_seg``: (N, channels, H, W)."""
        x = self._transform_inputs(inputs)
        return self.isa_module(self.in_conv(x))

    def forward(self, inputs: Tuple[torch.Tensor]) -> torch.Tensor:
        """Segmentation logits (N, num_classes, H, W)."""
        return self.cls_seg(self._forward_feature(inputs))
