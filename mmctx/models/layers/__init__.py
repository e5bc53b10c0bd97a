"""Building blocks of mmctx: one paper idea per module."""
from .interlaced_attention import (InterlacedSparseAttention, ISABlock,
                                   ISAModule, SelfAttentionUnit)
from .squeeze_reasoning import SRBlock

__all__ = [
    'SelfAttentionUnit', 'InterlacedSparseAttention', 'ISAModule', 'ISABlock',
    'SRBlock'
]
