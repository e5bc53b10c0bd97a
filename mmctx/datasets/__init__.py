"""Datasets registered in the ``mmctx`` scope."""
from .camvid import CamVidDataset

__all__ = ['CamVidDataset']
