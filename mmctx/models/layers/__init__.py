"""Building blocks of mmctx: one paper idea per module."""
from .squeeze_reasoning import SRBlock

__all__ = ['SRBlock']
