"""EncNet's context encoding module as a ``C -> C`` block."""
from typing import Dict, Optional

import torch.nn as nn
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_positive_int
from ._layer_cfgs import _layer_cfgs


@register_context_block
class EncodingBlock(nn.Module):
    """EncNet's context encoding module (mmseg's ``EncModule``), its
    feature output (the SE-loss branch belongs to EncHead).

    Args:
        in_channels (int): Channels of the input and output.
        num_codes (int): Codewords. Default: 32.
        norm_cfg (dict, optional): Norm of its layers. Default: BN.
    """

    def __init__(self,
                 in_channels: int,
                 num_codes: int = 32,
                 norm_cfg: Optional[Dict] = dict(type='BN')):
        super().__init__()
        from mmseg.models.decode_heads.enc_head import EncModule
        self.enc = EncModule(
            check_positive_int(in_channels, 'in_channels'),
            num_codes=check_positive_int(num_codes, 'num_codes'),
            **_layer_cfgs(norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        return self.enc(x)[1]
