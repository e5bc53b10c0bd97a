"""Registries of mmctx.

* ``MODELS`` / ``DATASETS``: scope ``mmctx``, children of MMSegmentation's
  registries. Decode heads and datasets live here, so configs written under the
  ``mmseg`` default scope say ``type='mmctx.SRHead'``; mmseg's own names (e.g.
  its ``ISAHead``) are never shadowed.
* ``PLUGIN_MODELS``: mmengine's root ``MODELS``. Plugin blocks inserted into
  ResNet bottlenecks (``SRBlock``, ``ISABlock``) are registered there, like
  mmcv's ``NonLocal2d`` and ``ContextBlock``: ``build_plugin_layer`` searches
  the current scope and its parents, so a root entry is found from both the
  ``mmdet`` and the ``mmseg`` default scopes.
"""
from mmengine.registry import MODELS as PLUGIN_MODELS
from mmengine.registry import Registry
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import MODELS as MMSEG_MODELS

MODELS = Registry(
    'model', parent=MMSEG_MODELS, scope='mmctx', locations=['mmctx.models'])
DATASETS = Registry(
    'dataset',
    parent=MMSEG_DATASETS,
    scope='mmctx',
    locations=['mmctx.datasets'])

__all__ = ['MODELS', 'DATASETS', 'PLUGIN_MODELS']
