"""Compatibility patches for mmengine 0.10 on torch 2.1 to 2.15 and CPU torch.

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
    ``Unsupported global``. Older torch loads with ``weights_only=False``: any
    checkpoint runs its code. On every torch, mmengine's checkpoint loaders
    (local files, URLs, every other backend) go through
    :func:`mmctx.checkpoint.load`: the globals real OpenMMLab checkpoints
    need are allowed, and anything else is refused with
    :class:`mmctx.checkpoint.UnsafeCheckpointError` (opt in for trusted files
    with ``MMCTX_TRUST_CHECKPOINTS=1``). A plain ``torch.load`` elsewhere
    keeps torch's own default.
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
``cpu_amp``
    ``AmpOptimWrapper`` (what ``--amp`` of mmseg's and mmdet's train.py
    selects) asserts an accelerator. Without one it trains in bfloat16
    autocast on the CPU (mmengine's ``autocast`` takes only bfloat16
    there), with no loss scaling (bfloat16 has float32's range); asking for
    float16 on the CPU raises an error naming ``dtype``.
``gloo_exit``
    A process of a gloo group can abort at exit (``terminate called without
    an active exception``, exit code -6) after its run finished: a gloo
    worker thread releases the tensors of a finished collective after the
    caller's ``wait()`` returned, which needs the GIL; once the interpreter
    is finalising, taking the GIL ends the thread inside a ``noexcept``
    destructor. An ``atexit`` handler gives the GIL to other threads for 50 ms
    in any process with a gloo group, before finalisation starts.
``mmdeploy``
    mmdeploy 1.3.1, applied when mmdeploy is imported (if it is installed):
    (1) torch >= 2.9's ``torch.onnx.export`` defaults to the dynamo exporter,
    which mmdeploy's rewriters do not support; its ``export`` gets
    ``dynamo=False`` (where torch has the switch). (2) Its
    ``FunctionRewriter`` restores torch.fx's wrapped-function registry as a
    list, which torch >= 2.9 keeps as a dict (``KeyError: -1`` after every
    export); new entries are removed by key. (3) On every torch, its default
    rewrite of ``F.scaled_dot_product_attention`` divides by ``scale`` where
    torch multiplies and negates a bool mask with ``not``: replaced by a
    correct one (mmctx's own layers never call SDPA while exporting).
"""
import atexit
import functools
import importlib.util
import os
import sys
import time
import types
from typing import Callable, Dict, List

import torch
from _mmctx_scope import AfterImport

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


class _ModuleProxy(types.ModuleType):
    """A module as seen by one patched module: the given attributes are
    replaced, every other one is the real module's."""

    def __init__(self, module: types.ModuleType, **overrides):
        super().__init__(module.__name__)
        self._module = module
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(self._module, name)


@_patch('checkpoint')
def _patch_checkpoint_loading() -> bool:
    import mmengine.runner.checkpoint as checkpoint

    from .checkpoint import load, load_url
    checkpoint.torch = _ModuleProxy(torch, load=load)
    checkpoint.load_url = load_url
    return True


def _replace_once(owner, name: str,
                  wrap: Callable[[Callable], Callable]) -> bool:
    """Set ``owner.<name>`` to ``wrap(original)`` unless a patch already did
    (:func:`apply_patches` may run again, e.g. in tests)."""
    original = getattr(owner, name)
    if not getattr(original, '_mmctx_patched', False):
        replacement = functools.wraps(original)(wrap(original))
        replacement._mmctx_patched = True
        setattr(owner, name, replacement)
    return True


@_patch('cpu_dist')
def _patch_cpu_init_dist() -> bool:
    import mmengine.dist.utils as dist_utils

    def wrap(original):

        def init_dist_pytorch(backend, init_backend='torch', **kwargs):
            if torch.cuda.is_available() or init_backend != 'torch':
                return original(backend, init_backend=init_backend, **kwargs)
            if backend == 'nccl':
                backend = 'gloo'
            torch.distributed.init_process_group(backend=backend, **kwargs)

        return init_dist_pytorch

    return _replace_once(dist_utils, '_init_dist_pytorch', wrap)


@_patch('cpu_ddp')
def _patch_cpu_ddp() -> bool:
    from mmengine.model import revert_sync_batchnorm
    from mmengine.model.wrappers.distributed import MMDistributedDataParallel

    def wrap(original):

        def __init__(self, module, *args, **kwargs):
            first_param = next(module.parameters(), None)
            if first_param is not None and first_param.device.type == 'cpu':
                kwargs['device_ids'] = None
                module = revert_sync_batchnorm(module)
            original(self, module, *args, **kwargs)

        return __init__

    return _replace_once(MMDistributedDataParallel, '__init__', wrap)


def _has_accelerator() -> bool:
    from mmengine.device import (is_cuda_available, is_mlu_available,
                                 is_musa_available, is_npu_available)
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _disabled_grad_scaler():
    # torch.amp.GradScaler(device) is torch >= 2.3; a disabled CUDA scaler
    # of older torch is the same no-op and runs without CUDA
    if hasattr(torch.amp, 'GradScaler'):
        return torch.amp.GradScaler('cpu', enabled=False)
    return torch.cuda.amp.GradScaler(enabled=False)


@_patch('cpu_amp')
def _patch_cpu_amp() -> bool:
    from mmengine.optim import AmpOptimWrapper, OptimWrapper

    def wrap(original):

        def __init__(self, loss_scale='dynamic', dtype=None, use_fsdp=False,
                     **kwargs):
            if _has_accelerator():
                return original(self, loss_scale, dtype, use_fsdp, **kwargs)
            if dtype not in (None, 'bfloat16', torch.bfloat16):
                raise ValueError(
                    'AmpOptimWrapper on the CPU trains in bfloat16 only '
                    f"(mmengine's CPU autocast), got dtype={dtype!r}")
            OptimWrapper.__init__(self, **kwargs)
            self._scale_update_param = None
            self.loss_scaler = _disabled_grad_scaler()
            self.cast_dtype = torch.bfloat16

        return __init__

    return _replace_once(AmpOptimWrapper, '__init__', wrap)


def _let_gloo_threads_finish():
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and \
            dist.get_backend() == 'gloo':
        time.sleep(0.05)


@_patch('gloo_exit')
def _patch_gloo_exit() -> bool:
    atexit.register(_let_gloo_threads_finish)
    return True


def _sdpa_for_export(query, key, value, attn_mask=None, dropout_p=0.,
                     scale=None, is_causal=False):
    """``F.scaled_dot_product_attention`` in exportable ops, as torch
    defines it."""
    scale = query.size(-1)**-0.5 if scale is None else scale
    logits = torch.matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        causal = torch.ones(query.size(-2), key.size(-2),
                            dtype=torch.bool, device=query.device).tril()
        logits = logits.masked_fill(~causal, float('-inf'))
    if attn_mask is not None:
        logits = logits.masked_fill(~attn_mask, float('-inf')) \
            if attn_mask.dtype == torch.bool else logits + attn_mask
    weights = torch.dropout(logits.softmax(dim=-1), dropout_p, False)
    return torch.matmul(weights, value)


def _fix_mmdeploy() -> None:
    import mmdeploy.apis.onnx.export  # noqa: F401
    from mmdeploy.core.rewriters import FUNCTION_REWRITER, function_rewriter
    from mmdeploy.core.rewriters.function_rewriter import FunctionRewriter

    # the package's `export` attribute is the function; the module is here
    from .deployment import export_has_dynamo_switch
    export = torch.onnx.export
    if export_has_dynamo_switch():
        onnx_export = sys.modules['mmdeploy.apis.onnx.export']
        onnx_export.torch = _ModuleProxy(
            torch, onnx=_ModuleProxy(
                torch.onnx, export=functools.partial(export, dynamo=False)))

    wrapped = function_rewriter._wrapped_fns_to_patch
    enter, exit_ = FunctionRewriter.enter, FunctionRewriter.exit

    @functools.wraps(enter)
    def enter_recording_keys(self, *args, **kwargs):
        self._mmctx_fx_keys = set(wrapped)
        return enter(self, *args, **kwargs)

    @functools.wraps(exit_)
    def exit_by_key(self):
        for key in set(wrapped) - self._mmctx_fx_keys:
            del wrapped[key]
        self._ori_fx_wrap_num = len(wrapped)
        return exit_(self)

    if isinstance(wrapped, dict):
        FunctionRewriter.enter = enter_recording_keys
        FunctionRewriter.exit = exit_by_key

    records = FUNCTION_REWRITER._registry._rewrite_records
    for record in records.get(
            'torch.nn.functional.scaled_dot_product_attention', []):
        if record['_object'].__name__ == \
                'scaled_dot_product_attention__default':
            record['_object'] = _sdpa_for_export


@_patch('mmdeploy')
def _patch_mmdeploy() -> bool:
    if 'mmdeploy' in sys.modules:
        _fix_mmdeploy()
    elif importlib.util.find_spec('mmdeploy') is not None:
        sys.meta_path.insert(
            0, AfterImport('mmdeploy', lambda module: _fix_mmdeploy()))
    else:
        return False
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
