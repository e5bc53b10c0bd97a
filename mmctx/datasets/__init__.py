"""Datasets registered in the ``mmctx`` scope."""
from .camvid import CamVidDataset
from .context_cues import ContextCuesDataset

__all__ = ['CamVidDataset', 'ContextCuesDataset']
