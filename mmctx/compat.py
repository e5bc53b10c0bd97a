"""Compatibility patches for mmengine 0.10.7 on torch >= 2.6 and CPU-only torch.

Applied once when :mod:`mmctx` is imported (``custom_imports=['mmctx']`` in a
config does that). Each patch touches only the mmengine function that needs it
and can be switched off with the environment variable ``MMCTX_COMPAT_DISABLE``,
a comma-separated list of patch names or ``all``::

    MMCTX_COMPAT_DISABLE=checkpoint python tools/train.py ...

Patches:

``checkpoint``
    torch >= 2.6 loads with ``weights_only=True`` by default, which rejects the
    numpy scalars and ``HistoryBuffer`` objects that mmengine itself writes into
    ``meta`` and ``message_hub``: ``load_checkpoint`` and ``resume`` fail with
    ``Unsupported global``. mmengine's checkpoint loaders get back the
    pre-2.6 default (``weights_only=False``), which is what mmengine's
    unreleased main does. Only mmengine's loaders change; a plain
    ``torch.load`` elsewhere keeps torch's safe default. Load checkpoints you
    trust, as with any pickle.
``cpu_dist``
    ``mmengine.dist.init_dist(launcher='pytorch')`` calls
    ``torch.cuda.set_device`` unconditionally, which raises ``AttributeError``
    on a CPU-only torch. Without CUDA the device call is skipped and an
    ``nccl`` backend (the stock configs' choice) falls back to ``gloo``, so
    the same ``torchrun`` command trains on CPUs.
``cpu_ddp``
    The Runner wraps the model with ``device_ids=[LOCAL_RANK]``, which
    ``DistributedDataParallel`` rejects for a CPU module, and SyncBN has no
    CPU kernel. For a model on the CPU, ``MMDistributedDataParallel`` gets
    ``device_ids=None`` and SyncBN layers become BatchNorm (each process
    normalises its own batch, as a non-distributed run does).
"""
import functools
import os
import types
from typing import Callable, Dict, List

import torch
from mmengine.utils import digit_version

DISABLE_ENV = 'MMCTX_COMPAT_DISABLE'

_PATCHES: Dict[str, Callable[[], bool]] = {}
applied: List[str] = []


def _patch(name: str):
    """Register a patch function that returns whether it changed anything."""

    def register(func):
        _PATCHES[name] = func
        return func

    return register


def disabled_patches() -> set:
    """Names listed in ``MMCTX_COMPAT_DISABLE`` (``all`` disables every one)."""
    names = {
        n.strip()
        for n in os.environ.get(DISABLE_ENV, '').split(',') if n.strip()
    }
    unknown = names - set(_PATCHES) - {'all'}
    if unknown:
        raise ValueError(f'{DISABLE_ENV} names unknown patches {sorted(unknown)}; '
                         f'known: {sorted(_PATCHES)} or "all"')
    return set(_PATCHES) if 'all' in names else names


class _TorchTrustingLoad(types.ModuleType):
    """``torch`` as seen by ``mmengine.runner.checkpoint``: ``torch.load``
    defaults to ``weights_only=False``; every other attribute is torch's."""

    def __init__(self):
        super().__init__('torch')

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def load(*args, **kwargs):
        kwargs.setdefault('weights_only', False)
        return torch.load(*args, **kwargs)


@_patch('checkpoint')
def _patch_checkpoint_loading() -> bool:
    if digit_version(torch.__version__) < digit_version('2.6.0'):
        return False
    # URLs go through torch.hub.load_state_dict_from_url, whose default is
    # already weights_only=False; the local, pavi and ceph loaders call
    # torch.load from this module.
    import mmengine.runner.checkpoint as checkpoint
    if not isinstance(checkpoint.torch, _TorchTrustingLoad):
        checkpoint.torch = _TorchTrustingLoad()
    return True


@_patch('cpu_dist')
def _patch_cpu_init_dist() -> bool:
    import mmengine.dist.utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_mmctx_patched', False):
        return True

    @functools.wraps(original)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch._mmctx_patched = True
    dist_utils._init_dist_pytorch = init_dist_pytorch
    return True


@_patch('cpu_ddp')
def _patch_cpu_ddp() -> bool:
    from mmengine.model import revert_sync_batchnorm
    from mmengine.model.wrappers.distributed import MMDistributedDataParallel
    original = MMDistributedDataParallel.__init__
    if getattr(original, '_mmctx_patched', False):
        return True

    @functools.wraps(original)
    def __init__(self, module, *args, **kwargs):
        first_param = next(module.parameters(), None)
        if first_param is not None and first_param.device.type == 'cpu':
            kwargs['device_ids'] = None
            module = revert_sync_batchnorm(module)
        original(self, module, *args, **kwargs)

    __init__._mmctx_patched = True
    MMDistributedDataParallel.__init__ = __init__
    return True


def apply_patches() -> List[str]:
    """Apply every patch not disabled by ``MMCTX_COMPAT_DISABLE``.

    Idempotent. Returns the names of the patches in effect.
    """
    disabled = disabled_patches()
    for name, patch in _PATCHES.items():
        if name not in disabled and name not in applied and patch():
            applied.append(name)
    return list(applied)


apply_patches()
