"""Double attention (A^2-Nets), Chen et al., NeurIPS 2018, arXiv:1810.11579.

Two attention steps over the whole map (paper Eq. 1-3, Fig. 2): *gather*
pools the features ``A`` (``m`` maps) into ``n`` global descriptors, each an
attention-weighted sum over the positions (weights ``softmax(B)`` over the
positions); *distribute* gives every position a mixture of the descriptors
(weights ``softmax(V)`` over the ``n`` descriptors)::

    G = A softmax_HW(B)^T          (m x n)
    Z_i = G softmax_n(V_i)         (m per position)

Cost is linear in the number of positions: no (HW)^2 map is formed. SR paper
Table IV compares it in a segmentation head (``+A2Net``). The block adds
``W(Z)`` back to its input, the residual form of the paper's ResNet blocks.
"""
from typing import Dict, List, Optional, Union

import torch
from mmcv.cnn import ConvModule, build_conv_layer
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_layer_cfgs, check_positive_int
from .._residual import ResidualContextBlock


def double_attention(features: Tensor, gather: Tensor,
                     distribute: Tensor) -> Tensor:
    """Gather then distribute (A^2-Nets Eq. 1-3).

    Args:
        features (Tensor): ``A``, (N, m, H, W).
        gather (Tensor): ``B``, (N, n, H, W): logits of the n gather
            attention maps, normalised over the positions.
        distribute (Tensor): ``V``, (N, n, H, W): logits of the
            distribution weights, normalised over the n descriptors at each
            position.

    Returns:
        Tensor: ``Z``, (N, m, H, W).
    """
    n, m, h, w = features.shape
    descriptors = torch.bmm(
        features.flatten(2),
        gather.flatten(2).softmax(dim=-1).transpose(1, 2))  # (N, m, n)
    weights = distribute.flatten(2).softmax(dim=1)  # (N, n, HW)
    return torch.bmm(descriptors, weights).view(n, m, h, w)


@register_context_block
class DoubleAttentionBlock(ResidualContextBlock):
    """A^2 block: ``y = x + W(double_attention(A(x), B(x), V(x)))``.

    ``A``, ``B`` and ``V`` are 1x1 convs (with bias, as in the paper's
    code); ``W`` is a 1x1 conv back to ``in_channels`` with an optional
    norm, zeroed at init so the block starts as the identity (as mmcv's
    ``NonLocal2d``). A ResNet plugin (``position='after_conv3'``) and a
    context module of :class:`mmctx.models.decode_heads.ContextHead`.

    Args:
        in_channels (int): Channels of the input and output.
        feature_channels (int, optional): ``m``, channels of ``A`` and of
            each descriptor. Default: None, ``in_channels // 2`` (SR Table
            IV's 0.53M at 512 channels; A^2-Nets uses ``m = n = C / 4``
            to ``C / 2``).
        num_descriptors (int, optional): ``n``, the number of global
            descriptors. Default: None, ``feature_channels``.
        zero_init (bool): Zero ``W``'s last layer. Default: True.
        conv_cfg (dict, optional): Config of the convs. Default: None.
        norm_cfg (dict, optional): Norm after ``W``. Default: None.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    _abbr_ = 'a2_block'

    def __init__(self,
                 in_channels: int,
                 feature_channels: Optional[int] = None,
                 num_descriptors: Optional[int] = None,
                 zero_init: bool = True,
                 conv_cfg: Optional[Dict] = None,
                 norm_cfg: Optional[Dict] = None,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None):
        super().__init__(in_channels, zero_init, init_cfg)
        check_layer_cfgs(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        m = in_channels // 2 if feature_channels is None else \
            check_positive_int(feature_channels, 'feature_channels')
        n = m if num_descriptors is None else \
            check_positive_int(num_descriptors, 'num_descriptors')
        check_positive_int(m, 'feature_channels (in_channels // 2)')
        self.feature_channels, self.num_descriptors = m, n
        self.features = build_conv_layer(conv_cfg, in_channels, m, 1)
        self.gather = build_conv_layer(conv_cfg, in_channels, n, 1)
        self.distribute = build_conv_layer(conv_cfg, in_channels, n, 1)
        self.out_proj = ConvModule(
            m,
            in_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.zero_init_residual()

    def out_layer(self) -> ConvModule:
        return self.out_proj

    def residual(self, x: Tensor) -> Tensor:
        return self.out_proj(
            double_attention(
                self.features(x), self.gather(x), self.distribute(x)))
