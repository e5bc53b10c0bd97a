"""CCNet's recurrent criss-cross attention (RCCA) as a ``C -> C`` block."""
import torch.nn as nn
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_positive_int
from .._options import RecordedOptions


@register_context_block
class RecurrentCrissCrossAttention(RecordedOptions, nn.Module):
    """CCNet's RCCA: mmcv's ``CrissCrossAttention`` applied ``recurrence``
    times with shared weights (``CCHead`` without its convs).

    Args:
        in_channels (int): Channels of the input and output.
        recurrence (int): Applications (CCNet: 2, every position then sees
            every other). Default: 2.
    """

    recorded_options = ('recurrence', )

    def __init__(self, in_channels: int, recurrence: int = 2):
        super().__init__()
        from mmcv.ops import CrissCrossAttention
        self.recurrence = check_positive_int(recurrence, 'recurrence')
        self.cca = CrissCrossAttention(
            check_positive_int(in_channels, 'in_channels'))
        self.record_options()

    def forward(self, x: Tensor) -> Tensor:
        for _ in range(self.recurrence):
            x = self.cca(x)
        return x
