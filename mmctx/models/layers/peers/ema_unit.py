"""EMANet's expectation-maximisation attention unit as a ``C -> C`` block."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_layer_cfg, check_positive_int


@register_context_block
class EMAUnit(nn.Module):
    """EMANet's EMA unit as in EMAHead without its 3x3 convs: 1x1 conv, EM
    attention (mmseg's ``EMAModule``), ReLU, 1x1 conv + norm, residual,
    ReLU.

    Args:
        in_channels (int): Channels of the input and output.
        num_bases (int): Bases of the EM attention. Default: 64.
        num_stages (int): EM iterations. Default: 3.
        momentum (float): Of the bases' moving average. Default: 0.1.
        norm_cfg (dict, optional): Norm of the output conv. Default: BN.
    """

    def __init__(self,
                 in_channels: int,
                 num_bases: int = 64,
                 num_stages: int = 3,
                 momentum: float = 0.1,
                 norm_cfg: Optional[Dict] = dict(type='BN')):
        super().__init__()
        from mmseg.models.decode_heads.ema_head import EMAModule
        c = check_positive_int(in_channels, 'in_channels')
        check_layer_cfg(norm_cfg, 'norm_cfg')
        self.mid_conv = ConvModule(c, c, 1, act_cfg=None)
        if isinstance(momentum, bool) or not isinstance(
                momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError('momentum must be a number in [0, 1], but got '
                             f'{momentum!r}')
        self.ema = EMAModule(c, check_positive_int(num_bases, 'num_bases'),
                             check_positive_int(num_stages, 'num_stages'),
                             momentum)
        self.out_conv = ConvModule(c, c, 1, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: Tensor) -> Tensor:
        recon = torch.relu(self.ema(self.mid_conv(x)))
        return torch.relu(x + self.out_conv(recon))
