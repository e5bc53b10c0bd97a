"""The modules of other papers the SR and ISA papers compare with, as
``C -> C`` context blocks: CGNL, A2Net, SA-2x, and adapters of the modules
mmseg and mmcv ship (CCNet, PSP/ASPP, DANet, EMANet, EncNet, SENet, ANN), one
per file."""
from .compact_nonlocal import CGNLBlock
from .criss_cross_attention import RecurrentCrissCrossAttention
from .double_attention import DoubleAttentionBlock
from .downsampled_attention import DownsampledSelfAttention
from .dual_attention import DualAttention
from .ema_unit import EMAUnit
from .encoding_block import EncodingBlock
from .pyramid_block import PyramidBlock
from .pyramid_non_local import PyramidNonLocal
from .se_block import SEBlock

__all__ = [
    'CGNLBlock', 'DoubleAttentionBlock', 'DownsampledSelfAttention',
    'DualAttention', 'EMAUnit', 'EncodingBlock', 'PyramidBlock',
    'PyramidNonLocal', 'RecurrentCrissCrossAttention', 'SEBlock'
]
