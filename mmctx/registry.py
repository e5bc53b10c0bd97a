"""Registries of mmctx.

* ``MODELS`` / ``DATASETS``: scope ``mmctx``, children of MMSegmentation's
  registries. Decode heads and datasets live here, so configs written under the
  ``mmseg`` default scope say ``type='mmctx.SRHead'``; mmseg's own names (e.g.
  its ``ISAHead``) are never shadowed.
* ``PLUGIN_MODELS``: mmengine's root ``MODELS``, where mmcv's ``NonLocal2d``
  and ``ContextBlock`` are. Every module a config puts inside a backbone or a
  head lives there, built by its bare name from the ``mmseg``, ``mmdet`` and
  ``mmpretrain`` scopes alike (a lookup searches the current scope, then its
  parents): the ``C -> C`` context blocks (:func:`register_context_block`,
  listed in :data:`CONTEXT_BLOCKS`) and the attention units the comparison
  heads use.

The rule: inside a backbone or a head, the root and a bare name; a head,
backbone, segmentor or dataset, the ``mmctx`` scope and ``'mmctx.X'``.

mmengine resolves ``'scope.Name'`` through the current registry's children or
the root's children only, so mmdet's ``MODELS`` would not find a grandchild of
the root. The ``mmctx`` registries are therefore also listed among the root's
children; their parent stays mmseg's, so unscoped names inside an mmctx head
(losses, conv layers) resolve to mmseg's as for any mmseg head.
"""
from typing import List

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

#: The names of mmctx's ``C -> C`` context blocks, in registration order: the
#: tests and tools that go over every block take them from here.
CONTEXT_BLOCKS: List[str] = []


def register_context_block(cls: type) -> type:
    """Class decorator: register a ``C -> C`` context block (its first
    argument ``in_channels``, its output of the same shape) in mmengine's
    root ``MODELS`` under its class name, and list it in
    :data:`CONTEXT_BLOCKS`."""
    PLUGIN_MODELS.register_module(module=cls)
    CONTEXT_BLOCKS.append(cls.__name__)
    return cls


__all__ = [
    'MODELS', 'DATASETS', 'PLUGIN_MODELS', 'CONTEXT_BLOCKS',
    'register_context_block'
]
