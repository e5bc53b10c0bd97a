"""Compatibility patches for mmengine 0.10 (and mmdeploy 1.3.1) on torch 2.1
to 2.15 and on CPU-only torch.

Applied once when :mod:`mmctx` is imported (``custom_imports=['mmctx']`` in a
config does that). Each patch changes only the function that needs it; its
docstring says why, where it applies and when it can go. Any of them is
switched off with ``MMCTX_COMPAT_DISABLE``, a comma-separated list of the
names below or ``all``::

    MMCTX_COMPAT_DISABLE=checkpoint python tools/train.py ...

``checkpoint``, ``cpu_dist``, ``cpu_ddp``, ``cpu_amp``, ``gloo_exit``,
``mmdeploy_exporter``, ``mmdeploy_fx``, ``mmdeploy_sdpa``. :data:`applied`
lists those in effect.
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
    """Names listed in ``MMCTX_COMPAT_DISABLE`` (``all``: every one)."""
    names = {
        n.strip()
        for n in os.environ.get(DISABLE_ENV, '').split(',') if n.strip()
    }
    unknown = names - set(_PATCHES) - {'all'}
    if unknown:
        raise ValueError(
            f'{DISABLE_ENV} names unknown patches {sorted(unknown)}; '
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
    """Safe checkpoint loading through :func:`mmctx.checkpoint.load`.

    Why: torch >= 2.6 loads with ``weights_only=True`` by default, which
    rejects the numpy scalars and ``HistoryBuffer`` objects mmengine itself
    writes into ``meta`` and ``message_hub`` (``load_checkpoint`` and
    ``resume`` fail with ``Unsupported global``); older torch loads with
    ``weights_only=False``, so any checkpoint runs its code. With the patch
    mmengine's loaders (local files, URLs, every other backend) allow the
    globals real OpenMMLab checkpoints need and refuse anything else with
    :class:`mmctx.checkpoint.UnsafeCheckpointError` (trusted files:
    ``MMCTX_TRUST_CHECKPOINTS=1``). A plain ``torch.load`` elsewhere keeps
    torch's default.

    Applies: every torch. Can go: when mmengine loads with
    ``weights_only=True`` and allowlists its own types (not in 0.10.7).
    """
    import mmengine.runner.checkpoint as checkpoint

    from .checkpoint import load, load_url
    checkpoint.torch = _ModuleProxy(torch, load=load)
    checkpoint.load_url = load_url
    return True


def _replace_once(owner, name: str, wrap: Callable[[Callable],
                                                   Callable]) -> bool:
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
    """``init_dist(launcher='pytorch')`` without CUDA.

    Why: mmengine's ``_init_dist_pytorch`` calls ``torch.cuda.set_device``
    unconditionally, which raises ``AttributeError`` on a CPU-only torch.
    Without CUDA the call is skipped and an ``nccl`` backend (the stock
    configs' choice) falls back to ``gloo``, so the same ``torchrun`` command
    trains on CPUs.

    Applies: when CUDA is not available, at call time. Can go: when
    mmengine skips the device call without CUDA (not in 0.10.7).
    """
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
    """``MMDistributedDataParallel`` around a model on the CPU.

    Why: the Runner passes ``device_ids=[LOCAL_RANK]``, which
    ``DistributedDataParallel`` rejects for a CPU module, and SyncBN has no
    CPU kernel. For a CPU model ``device_ids`` becomes None and SyncBN
    layers BatchNorm (each process normalises its own batch, as a
    non-distributed run does).

    Applies: when the model's parameters are on the CPU. Can go: when
    mmengine's Runner passes no ``device_ids`` for CPU models (not in
    0.10.7).
    """
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
    """``AmpOptimWrapper`` (``--amp`` of mmseg's and mmdet's train.py)
    without an accelerator.

    Why: it asserts CUDA, NPU, MLU or MUSA. Without one it trains in
    bfloat16 autocast on the CPU (mmengine's CPU ``autocast`` takes only
    bfloat16), with no loss scaling (bfloat16 has float32's range); float16
    on the CPU is refused, naming ``dtype``. A CPU without bf16 instructions
    gets a warning, once (:mod:`mmctx.engine.cpu_bf16`).

    Applies: when no accelerator is available, at construction. Can go:
    when mmengine's ``AmpOptimWrapper`` supports the CPU (not in 0.10.7).
    """
    from mmengine.optim import AmpOptimWrapper, OptimWrapper

    def wrap(original):

        def __init__(self,
                     loss_scale='dynamic',
                     dtype=None,
                     use_fsdp=False,
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
            from mmctx.engine.cpu_bf16 import warn_if_slow_bf16
            warn_if_slow_bf16()

        return __init__

    return _replace_once(AmpOptimWrapper, '__init__', wrap)


def _let_gloo_threads_finish():
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized() and \
            dist.get_backend() == 'gloo':
        time.sleep(0.05)


@_patch('gloo_exit')
def _patch_gloo_exit() -> bool:
    """A clean exit for processes of a gloo group.

    Why: such a process can abort at exit (``terminate called without an
    active exception``, exit code -6) after its run finished: a gloo worker
    thread releases a finished collective's tensors after the caller's
    ``wait()`` returned, which needs the GIL, and once the interpreter is
    finalising taking the GIL ends the thread inside a ``noexcept``
    destructor. An ``atexit`` handler lets other threads run for 50 ms
    before finalisation starts.

    Applies: at exit, in processes with an initialised gloo group. Can go:
    when torch's gloo backend joins its threads before finalisation.
    """
    atexit.register(_let_gloo_threads_finish)
    return True


def _sdpa_for_export(query,
                     key,
                     value,
                     attn_mask=None,
                     dropout_p=0.,
                     scale=None,
                     is_causal=False):
    """``F.scaled_dot_product_attention`` in exportable ops, as torch
    defines it."""
    scale = query.size(-1)**-0.5 if scale is None else scale
    logits = torch.matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        causal = torch.ones(
            query.size(-2),
            key.size(-2),
            dtype=torch.bool,
            device=query.device).tril()
        logits = logits.masked_fill(~causal, float('-inf'))
    if attn_mask is not None:
        logits = logits.masked_fill(~attn_mask, float('-inf')) \
            if attn_mask.dtype == torch.bool else logits + attn_mask
    weights = torch.dropout(logits.softmax(dim=-1), dropout_p, False)
    return torch.matmul(weights, value)


_MMDEPLOY_FIXES: List[Callable[[], None]] = []


def _run_mmdeploy_fixes(module) -> None:
    for fix in _MMDEPLOY_FIXES:
        fix()


def _when_mmdeploy_imported(fix: Callable[[], None]) -> bool:
    """Run ``fix`` now if mmdeploy is imported, else right after it is;
    False (nothing to patch) where mmdeploy is not installed."""
    if 'mmdeploy' in sys.modules:
        fix()
        return True
    if importlib.util.find_spec('mmdeploy') is None:
        return False
    if not _MMDEPLOY_FIXES:
        sys.meta_path.insert(0, AfterImport('mmdeploy', _run_mmdeploy_fixes))
    _MMDEPLOY_FIXES.append(fix)
    return True


def _export_without_dynamo() -> None:
    # the package's `export` attribute is the function; the module is here
    import mmdeploy.apis.onnx.export  # noqa: F401
    onnx_export = sys.modules['mmdeploy.apis.onnx.export']
    export = torch.onnx.export
    onnx_export.torch = _ModuleProxy(
        torch,
        onnx=_ModuleProxy(
            torch.onnx, export=functools.partial(export, dynamo=False)))


@_patch('mmdeploy_exporter')
def _patch_mmdeploy_exporter() -> bool:
    """mmdeploy's ONNX export with the TorchScript exporter.

    Why: torch >= 2.9's ``torch.onnx.export`` defaults to the dynamo
    exporter, which mmdeploy 1.3.1's rewriters do not support; its
    ``export`` gets ``dynamo=False``.

    Applies: where mmdeploy is installed and torch has the ``dynamo=``
    switch (>= 2.5). Can go: when mmdeploy passes ``dynamo=False`` itself
    (not in 1.3.1).
    """
    from .deployment import export_has_dynamo_switch
    if not export_has_dynamo_switch():
        return False
    return _when_mmdeploy_imported(_export_without_dynamo)


def _restore_fx_registry_by_key() -> None:
    from mmdeploy.core.rewriters import function_rewriter
    from mmdeploy.core.rewriters.function_rewriter import FunctionRewriter
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

    FunctionRewriter.enter = enter_recording_keys
    FunctionRewriter.exit = exit_by_key


@_patch('mmdeploy_fx')
def _patch_mmdeploy_fx() -> bool:
    """mmdeploy's rewriter context restores torch.fx's registry by key.

    Why: mmdeploy 1.3.1's ``FunctionRewriter`` restores torch.fx's
    wrapped-function registry as a list, which torch >= 2.9 keeps as a dict
    (``KeyError: -1`` after every export); the entries it added are removed
    by key instead.

    Applies: where mmdeploy is installed and the registry is a dict (torch
    >= 2.9). Can go: when mmdeploy handles the dict (not in 1.3.1).
    """
    from torch.fx import _symbolic_trace
    if not isinstance(_symbolic_trace._wrapped_fns_to_patch, dict):
        return False
    return _when_mmdeploy_imported(_restore_fx_registry_by_key)


def _replace_sdpa_rewrite() -> None:
    import mmdeploy.apis.onnx.export  # noqa: F401  (registers the rewrites)
    from mmdeploy.core.rewriters import FUNCTION_REWRITER
    records = FUNCTION_REWRITER._registry._rewrite_records
    for record in records.get(
            'torch.nn.functional.scaled_dot_product_attention', []):
        if record['_object'].__name__ == \
                'scaled_dot_product_attention__default':
            record['_object'] = _sdpa_for_export


@_patch('mmdeploy_sdpa')
def _patch_mmdeploy_sdpa() -> bool:
    """mmdeploy's rewrite of ``F.scaled_dot_product_attention`` as torch
    defines it.

    Why: mmdeploy 1.3.1's default rewrite divides by ``scale`` where torch
    multiplies, and negates a bool mask with ``not``; it is replaced by
    :func:`_sdpa_for_export` (mmctx's own layers never call SDPA while
    exporting; other models' attention does).

    Applies: where mmdeploy is installed, on every torch. Can go: when
    mmdeploy's rewrite is fixed (not in 1.3.1).
    """
    return _when_mmdeploy_imported(_replace_sdpa_rewrite)


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
