"""Interlaced Sparse Self-Attention (Huang et al., arXiv:1907.12273): the
self-attention unit, the two interlaced steps, openseg's module for the head
and the residual block, one per file."""
from .interlaced_sparse_attention import (DownFactor,
                                          InterlacedSparseAttention,
                                          as_down_factor, as_down_factors)
from .isa_block import ISABlock
from .isa_module import ISAModule
from .self_attention_unit import SelfAttentionUnit

__all__ = [
    'SelfAttentionUnit', 'InterlacedSparseAttention', 'ISAModule', 'ISABlock',
    'DownFactor', 'as_down_factor', 'as_down_factors'
]
