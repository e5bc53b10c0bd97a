"""Building blocks of mmctx, one block or function family per file, under
folders that name the papers: ``isa/`` and ``sr/``, and ``peers/`` for the
modules the papers compare with; the residual pattern the blocks share
(``_residual.py``)."""
from ._residual import ResidualContextBlock
from .isa import (InterlacedSparseAttention, ISABlock, ISAModule,
                  SelfAttentionUnit)
from .peers import (CGNLBlock, DoubleAttentionBlock, DownsampledSelfAttention,
                    DualAttention, EMAUnit, EncodingBlock, PyramidBlock,
                    PyramidNonLocal, RecurrentCrissCrossAttention, SEBlock)
from .sr import SRBlock, SRGate

__all__ = [
    'SelfAttentionUnit', 'InterlacedSparseAttention', 'ISAModule', 'ISABlock',
    'SRBlock', 'SRGate', 'ResidualContextBlock', 'DoubleAttentionBlock',
    'CGNLBlock', 'DownsampledSelfAttention', 'DualAttention', 'EMAUnit',
    'EncodingBlock', 'PyramidBlock', 'PyramidNonLocal',
    'RecurrentCrissCrossAttention', 'SEBlock'
]
