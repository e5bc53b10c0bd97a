"""Squeeze-and-excitation (SENet) as a ``C -> C`` block."""
import torch.nn as nn
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_positive_int


@register_context_block
class SEBlock(nn.Module):
    """Squeeze-and-excitation: mmseg's ``SELayer`` with the sigmoid gate of
    SENet (mmseg's default gate is a hard sigmoid).

    Args:
        in_channels (int): Channels of the input and output.
        ratio (int): Reduction of the excitation. Default: 16.
    """

    def __init__(self, in_channels: int, ratio: int = 16):
        super().__init__()
        from mmseg.models.utils import SELayer
        self.se = SELayer(
            check_positive_int(in_channels, 'in_channels'),
            ratio=check_positive_int(ratio, 'ratio'),
            act_cfg=(dict(type='ReLU'), dict(type='Sigmoid')))

    def forward(self, x: Tensor) -> Tensor:
        return self.se(x)
