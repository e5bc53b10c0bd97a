"""Decode heads for MMSegmentation (registered in the ``mmctx`` scope)."""
from .isa_head import ISAHead
from .sr_head import SRHead

__all__ = ['ISAHead', 'SRHead']
