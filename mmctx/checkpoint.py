"""Safe checkpoint loading for mmengine: ``weights_only=True`` with an
allowlist of exactly what OpenMMLab checkpoints hold.

torch >= 2.6 unpickles with ``weights_only=True`` by default, which refuses
the numpy scalars and arrays and the ``HistoryBuffer`` objects that mmengine
writes into ``meta`` and ``message_hub``, so ``load_from`` and ``--resume``
fail with ``Unsupported global``. Turning ``weights_only`` off fixes that but
lets any checkpoint run code while it loads. The ``checkpoint`` patch of
:mod:`mmctx.compat` routes mmengine's loaders through :func:`load` instead:
``weights_only=True`` stays, :func:`allowed_globals` are allowed, and a
checkpoint with any other pickled object raises
:class:`UnsafeCheckpointError` naming it.

The allowlist is enforced the same way on every torch: torch >= 2.5 by its
own ``weights_only`` unpickler with :func:`torch.serialization.safe_globals`;
older torch (2.1 has neither that nor ``add_safe_globals``, and loads with
``weights_only=False`` by default) by a ``pickle_module`` whose
``Unpickler.find_class`` returns only what torch's ``weights_only``
unpickler allows for tensors plus :func:`allowed_globals`, and refuses every
other global before anything is called.

To load a checkpoint you trust that needs more (an old file pickling its own
classes), opt in explicitly, for the whole process with the environment
variable ``MMCTX_TRUST_CHECKPOINTS=1`` or for a block of code::

    from mmctx.checkpoint import trusted_checkpoints
    with trusted_checkpoints():
        runner.load_checkpoint('legacy.pth')
"""
import _compat_pickle
import codecs
import collections
import contextlib
import os
import pickle
import re
import threading
import types
from typing import Dict, List, Optional
from urllib.parse import urlparse

import torch

TRUST_ENV = 'MMCTX_TRUST_CHECKPOINTS'
_trusted = threading.local()
#: torch >= 2.5: its weights_only unpickler takes extra allowed globals.
HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'safe_globals')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside :func:`allowed_globals`."""


#: What a pickled ``HistoryBuffer`` looks up with ``getattr``: its
#: statistics methods (``register_statistics``, say, would let a checkpoint
#: call it through torch's ``_rebuild_from_type_v2``).
HISTORY_BUFFER_STATISTICS = ('current', 'max', 'mean', 'min')


def _history_buffer_method(owner, name: str):
    """``getattr`` as a checkpoint may use it: a ``HistoryBuffer`` pickles
    its statistics methods as ``getattr(HistoryBuffer, 'min')``. Nothing
    else is looked up."""
    from mmengine.logging import HistoryBuffer
    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not a HistoryBuffer statistic')


def _numpy_multiarray():
    try:  # numpy 2 (numpy.core is a deprecated alias there)
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    return multiarray


def allowed_globals() -> List:
    """The globals that mmengine checkpoints and the stock mmseg/mmdet model
    zoo checkpoints hold beyond tensors and builtin containers: numpy
    scalars, arrays and dtypes (``meta``, ``message_hub``), mmengine's
    ``HistoryBuffer`` with the ``getattr`` of its statistics methods
    (``message_hub``) and ``ConfigDict``; and the plain data types that
    torch >= 2.4 allows by itself (bytes as ``_codecs.encode``, sets,
    ``torch.device``, ...), so that the allowlist is the same on every torch.

    An entry is an object, or ``(object, name)`` where a checkpoint names it
    otherwise: numpy 1 pickles ``numpy.core.multiarray.scalar``, numpy 2
    ``numpy._core.multiarray.scalar``, and either loads under the other."""
    import numpy as np
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    multiarray = _numpy_multiarray()
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    numpy_functions = [(getattr(multiarray,
                                name), f'numpy.{core}.multiarray.{name}')
                       for name in ('_reconstruct', 'scalar')
                       for core in ('core', '_core')]
    # data types torch >= 2.4 allows by itself and 2.1 does not: protocol 2
    # pickles bytes (numpy arrays' data) as _codecs.encode(str, 'latin1')
    plain_data = [(codecs.encode, '_codecs.encode'), bytearray, complex, set,
                  frozenset, collections.Counter, torch.device]
    return [
        *numpy_functions, np.ndarray, np.dtype,
        *set(dtype_classes), HistoryBuffer,
        (_history_buffer_method, 'builtins.getattr'), ConfigDict, *plain_data
    ]


def allowed_by_name() -> Dict[str, object]:
    """:func:`allowed_globals` keyed by the name a pickle gives each."""
    by_name = {}
    for entry in allowed_globals():
        obj, name = entry if isinstance(
            entry, tuple) else (entry,
                                f'{entry.__module__}.{entry.__qualname__}')
        by_name[name] = obj
    return by_name


def trusting() -> bool:
    """Whether checkpoints are loaded with ``weights_only=False``: inside
    :func:`trusted_checkpoints`, or with ``MMCTX_TRUST_CHECKPOINTS=1``.

    The variable takes one spelling of yes, ``1``; unset or empty means no.
    Any other value is refused: ``false`` or ``0`` would otherwise be read
    as one or the other by guess."""
    if getattr(_trusted, 'depth', 0) > 0:
        return True
    value = os.environ.get(TRUST_ENV, '')
    if value not in ('', '1'):
        raise ValueError(
            f'{TRUST_ENV}={value!r} is not understood: set it to 1 to load '
            'every checkpoint with weights_only=False (only files you '
            'trust), or unset it')
    return value == '1'


class CorruptCheckpointError(ValueError):
    """A file that is not a checkpoint torch.save wrote: empty, truncated,
    or another format."""


# torch.save's two formats: a zip archive, or (before torch 1.6,
# _use_new_zipfile_serialization=False) pickles after a protocol-2 magic
# number
_ZIP_MAGIC = b'PK\x03\x04'
_LEGACY_MAGIC = b'\x80\x02\x8a\x0a' + (0x1950a86a20f9469cfc6c).to_bytes(
    10, 'little')


def _check_format(f, source: str) -> None:
    """Raise :class:`CorruptCheckpointError` naming ``source`` when ``f`` (a
    path, or a seekable file) starts like neither of torch.save's
    formats."""
    if isinstance(f, (str, os.PathLike)):
        if not os.path.isfile(f):
            return  # torch.load's own FileNotFoundError names it
        with open(f, 'rb') as stream:
            head = stream.read(len(_LEGACY_MAGIC))
    elif hasattr(f, 'seekable') and f.seekable():
        position = f.tell()
        head = f.read(len(_LEGACY_MAGIC))
        f.seek(position)
    else:
        return
    if not head:
        raise CorruptCheckpointError(f'{source!r} is empty: not a checkpoint')
    if not (head.startswith(_ZIP_MAGIC) or head == _LEGACY_MAGIC):
        raise CorruptCheckpointError(
            f'{source!r} is not a checkpoint written by torch.save (neither '
            f'its zip format nor its legacy one; it starts with {head[:8]!r})'
            ': a corrupt or truncated download, or another file')


@contextlib.contextmanager
def trusted_checkpoints():
    """Load checkpoints in this block with ``weights_only=False``: any
    pickled object, any code it runs. Only for files you trust."""
    _trusted.depth = getattr(_trusted, 'depth', 0) + 1
    try:
        yield
    finally:
        _trusted.depth -= 1


def allowlist_pickle_module() -> types.ModuleType:
    """A ``pickle_module`` for :func:`torch.load` that unpickles only the
    globals torch's ``weights_only`` unpickler allows (tensors, storages,
    ``OrderedDict``, dtypes) and :func:`allowed_globals`. Any other global
    raises :class:`pickle.UnpicklingError` naming it, before it is
    called."""
    from torch._weights_only_unpickler import _get_allowed_globals
    allowed = {**_get_allowed_globals(), **allowed_by_name()}

    class Unpickler(pickle.Unpickler):

        def find_class(self, module, name):
            # protocol 2 (torch.save's) writes Python 2 names, e.g.
            # __builtin__.getattr; pickle maps them back the same way
            module, name = _compat_pickle.NAME_MAPPING.get(
                (module, name),
                (_compat_pickle.IMPORT_MAPPING.get(module, module), name))
            qualified = f'{module}.{name}'
            if qualified in allowed:
                return allowed[qualified]
            raise pickle.UnpicklingError(
                f'Unsupported global: GLOBAL {qualified} is not allowed')

    def load(file, **kwargs):
        return Unpickler(file, **kwargs).load()

    module = types.ModuleType('mmctx_allowlist_pickle')
    module.Unpickler, module.load = Unpickler, load
    return module


@contextlib.contextmanager
def _refusing_unsafe_globals(source):
    try:
        yield
    except (AttributeError, TypeError, ValueError, KeyError, IndexError,
            ImportError) as error:
        # an allowed global called with what a crafted pickle gives it
        raise UnsafeCheckpointError(
            f'Refused to load {source!r}: unpickling it failed with '
            f'{type(error).__name__}: {_last_line(error)}; a checkpoint '
            'OpenMMLab wrote does not. If you trust this file, load it with '
            f'{TRUST_ENV}=1 in the environment or inside '
            '`with mmctx.checkpoint.trusted_checkpoints():`.') from error
    except EOFError as error:
        raise CorruptCheckpointError(
            f'{source!r} ends early: a truncated checkpoint') from error
    except RuntimeError as error:
        # torch's own words for a damaged zip archive or legacy file
        if not any(
                words in str(error)
                for words in ('PytorchStreamReader', 'might be corrupted')):
            raise
        raise CorruptCheckpointError(
            f'{source!r} is a corrupt or truncated checkpoint (torch: '
            f'{_last_line(error)})') from error
    except pickle.UnpicklingError as error:
        found = re.search(r'GLOBAL ([\w.]+)', str(error))
        # an object that is not a plain global: say what torch refused
        offending = found.group(1) if found else \
            f'what the unpickler refused ({_last_line(error)})'
        raise UnsafeCheckpointError(
            f'Refused to load {source!r}: it pickles {offending}, which is '
            'not among the globals OpenMMLab checkpoints need, and unpickling '
            'it could run arbitrary code. If you trust this file, load it '
            f'with {TRUST_ENV}=1 in the environment or inside '
            '`with mmctx.checkpoint.trusted_checkpoints():`.') from error


def _last_line(error: Exception) -> str:
    """The last line of ``error``'s message (torch ends with the cause)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def load(f,
         *args,
         safe_globals: Optional[bool] = None,
         weights_only: Optional[bool] = None,
         **kwargs):
    """:func:`torch.load` held to the rules of this module.

    Args:
        f: a path or a file-like object, as for :func:`torch.load`.
        safe_globals (bool, optional): enforce the allowlist with torch's
            ``weights_only`` unpickler (True) or with
            :func:`allowlist_pickle_module` (False). Default: the former
            where torch has ``safe_globals`` (>= 2.5).
        weights_only: ignored: the allowlist decides, and only
            :func:`trusting` lifts it. A caller's ``weights_only=False``
            must not undo it (onedl-mmengine 0.10.12 retries a refused
            checkpoint with ``weights_only=False``).
    """
    if trusting():
        return torch.load(f, *args, weights_only=False, **kwargs)
    if safe_globals is None:
        safe_globals = HAS_SAFE_GLOBALS
    source = f if isinstance(f, str) else 'a stream'
    _check_format(f, source)
    with _refusing_unsafe_globals(source):
        if safe_globals:
            with torch.serialization.safe_globals(allowed_globals()):
                return torch.load(f, *args, weights_only=True, **kwargs)
        return torch.load(
            f,
            *args,
            weights_only=False,
            pickle_module=allowlist_pickle_module(),
            **kwargs)


def load_url(url,
             model_dir=None,
             map_location=None,
             progress=True,
             check_hash=False,
             file_name=None,
             **kwargs):
    """:func:`torch.hub.load_state_dict_from_url` (mmengine's
    ``load_url``): the file is downloaded to torch hub's cache as there,
    then read by :func:`load`."""
    from torch import hub
    model_dir = model_dir or os.path.join(hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    file_name = file_name or os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, file_name)
    if not os.path.exists(cached_file):
        hash_prefix = None
        if check_hash:
            found = hub.HASH_REGEX.search(file_name)
            hash_prefix = found.group(1) if found else None
        hub.download_url_to_file(
            url, cached_file, hash_prefix, progress=progress)
    return load(cached_file, map_location=map_location, **kwargs)
