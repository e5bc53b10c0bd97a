"""mmctx: Squeeze Reasoning and Interlaced Sparse Self-Attention for OpenMMLab.

Importing the package checks the installed OpenMMLab stack
(:mod:`mmctx.stack`), applies the compatibility patches (:mod:`mmctx.compat`)
and registers every head, plugin block, dataset and hook.
"""
# isort: off
from . import stack  # noqa: F401  (first: an unsupported stack fails here)
from . import compat  # noqa: F401  (before anything loads: the patches)
# isort: on
import _mmctx_scope
from .datasets import CamVidDataset, ContextCuesDataset
from .engine import RandomStateHook
from .models.backbones import DFNet
from .models.decode_heads import DFSegHead, ISAHead, SRHead
from .models.layers import (InterlacedSparseAttention, ISABlock, ISAModule,
                            SelfAttentionUnit, SRBlock)
from .models.segmentors import FlipSwapSegTTAModel
from .registry import DATASETS, MODELS, PLUGIN_MODELS
from .version import __version__

# Normally done at start-up by mmctx-scope.pth; this covers a clone on
# PYTHONPATH, for configs loaded after the import.
_mmctx_scope.install()

__all__ = [
    '__version__', 'MODELS', 'DATASETS', 'PLUGIN_MODELS', 'SRBlock',
    'SelfAttentionUnit', 'InterlacedSparseAttention', 'ISAModule', 'ISABlock',
    'SRHead', 'ISAHead', 'CamVidDataset', 'ContextCuesDataset',
    'RandomStateHook', 'DFNet', 'DFSegHead', 'FlipSwapSegTTAModel'
]
