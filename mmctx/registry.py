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

mmengine resolves ``'scope.Name'`` through the current registry's children or
the root's children only, so mmdet's ``MODELS`` would not find a grandchild of
the root. The ``mmctx`` registries are therefore also listed among the root's
children; their parent stays mmseg's, so unscoped names inside an mmctx head
(losses, conv layers) resolve to mmseg's as for any mmseg head.
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


def _reachable_from_every_scope(registry: Registry) -> Registry:
    root = registry._get_root_registry()
    root._children.setdefault(registry.scope, registry)
    return registry


MODELS = _reachable_from_every_scope(MODELS)
DATASETS = _reachable_from_every_scope(DATASETS)

__all__ = ['MODELS', 'DATASETS', 'PLUGIN_MODELS']
