"""DANet's position and channel attention, summed, as a ``C -> C`` block."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_positive_int


@register_context_block
class DualAttention(nn.Module):
    """DANet's position (PAM) and channel (CAM) attention, summed (DAHead
    without its 3x3 convs).

    Args:
        in_channels (int): Channels of the input and output.
        pam_channels (int, optional): Key channels of PAM. Default: None,
            ``in_channels // 8`` (DANet's).
    """

    def __init__(self, in_channels: int, pam_channels: Optional[int] = None):
        super().__init__()
        from mmseg.models.decode_heads.da_head import CAM, PAM
        check_positive_int(in_channels, 'in_channels')
        # 0 must not pass for None (the default) as `pam_channels or` would
        self.pam = PAM(
            in_channels,
            max(in_channels // 8, 1) if pam_channels is None else
            check_positive_int(pam_channels, 'pam_channels'))
        self.cam = CAM()

    def forward(self, x: Tensor) -> Tensor:
        return self.pam(x) + self.cam(x)
