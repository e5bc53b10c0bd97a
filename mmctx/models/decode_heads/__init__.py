"""Decode heads for MMSegmentation (registered in the ``mmctx`` scope)."""
from .context_head import ContextHead
from .dfseg_head import DFSegHead
from .isa_head import ISAHead
from .sr_head import SRHead, SRModuleHead

__all__ = ['ContextHead', 'DFSegHead', 'ISAHead', 'SRHead', 'SRModuleHead']
