"""Building blocks of mmctx: one paper idea per module, and the residual
pattern the plugin blocks share."""
from ._residual import ResidualContextBlock
from .interlaced_attention import (InterlacedSparseAttention, ISABlock,
                                   ISAModule, SelfAttentionUnit)
from .squeeze_reasoning import SRBlock

__all__ = [
    'SelfAttentionUnit', 'InterlacedSparseAttention', 'ISAModule', 'ISABlock',
    'SRBlock', 'ResidualContextBlock'
]
