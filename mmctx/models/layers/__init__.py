"""Building blocks of mmctx: one paper idea per module, the residual
pattern the plugin blocks share, and adapters over other papers' modules
that mmseg and mmcv ship (``peer_blocks``)."""
from ._residual import ResidualContextBlock
from .compact_nonlocal import CGNLBlock
from .double_attention import DoubleAttentionBlock
from .downsampled_attention import DownsampledSelfAttention
from .interlaced_attention import (InterlacedSparseAttention, ISABlock,
                                   ISAModule, SelfAttentionUnit)
from .peer_blocks import (DualAttention, EMAUnit, EncodingBlock, PyramidBlock,
                          PyramidNonLocal, RecurrentCrissCrossAttention,
                          SEBlock)
from .squeeze_reasoning import SRBlock, SRGate

__all__ = [
    'SelfAttentionUnit', 'InterlacedSparseAttention', 'ISAModule', 'ISABlock',
    'SRBlock', 'SRGate', 'ResidualContextBlock', 'DoubleAttentionBlock',
    'CGNLBlock', 'DownsampledSelfAttention', 'DualAttention', 'EMAUnit',
    'EncodingBlock', 'PyramidBlock', 'PyramidNonLocal',
    'RecurrentCrissCrossAttention', 'SEBlock'
]
