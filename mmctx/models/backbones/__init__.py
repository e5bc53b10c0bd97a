"""Backbones registered in the ``mmctx`` scope."""
from .dfnet import DFNet

__all__ = ['DFNet']
