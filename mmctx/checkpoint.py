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

To load a checkpoint you trust that needs more (an old file pickling its own
classes), opt in explicitly, for the whole process with the environment
variable ``MMCTX_TRUST_CHECKPOINTS=1`` or for a block of code::

    from mmctx.checkpoint import trusted_checkpoints
    with trusted_checkpoints():
        runner.load_checkpoint('legacy.pth')
"""
import contextlib
import os
import pickle
import re
import threading
from typing import List

import torch

TRUST_ENV = 'MMCTX_TRUST_CHECKPOINTS'
_trusted = threading.local()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside :func:`allowed_globals`."""


def _history_buffer_method(owner, name: str):
    """``getattr`` as a checkpoint may use it: a ``HistoryBuffer`` pickles
    its statistics methods as ``getattr(HistoryBuffer, 'min')``. Nothing
    else is looked up."""
    from mmengine.logging import HistoryBuffer
    if owner is HistoryBuffer and isinstance(name, str) and \
            not name.startswith('_'):
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'getattr({owner!r}, {name!r}) is not a HistoryBuffer statistic')


def allowed_globals() -> List:
    """The globals that mmengine checkpoints and the stock mmseg/mmdet model
    zoo checkpoints hold beyond tensors and builtin containers: numpy
    scalars, arrays and dtypes (``meta``, ``message_hub``), mmengine's
    ``HistoryBuffer`` with the ``getattr`` of its statistics methods
    (``message_hub``) and ``ConfigDict``."""
    import numpy as np
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [
        _reconstruct, scalar, np.ndarray, np.dtype, *set(dtype_classes),
        HistoryBuffer, (_history_buffer_method, 'builtins.getattr'),
        ConfigDict
    ]


def trusting() -> bool:
    """Whether checkpoints are loaded with ``weights_only=False``."""
    return (getattr(_trusted, 'depth', 0) > 0
            or os.environ.get(TRUST_ENV, '') not in ('', '0'))


@contextlib.contextmanager
def trusted_checkpoints():
    """Load checkpoints in this block with ``weights_only=False``: any
    pickled object, any code it runs. Only for files you trust."""
    _trusted.depth = getattr(_trusted, 'depth', 0) + 1
    try:
        yield
    finally:
        _trusted.depth -= 1


@contextlib.contextmanager
def _refusing_unsafe_globals(source):
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            yield
    except pickle.UnpicklingError as error:
        found = re.search(r'GLOBAL ([\w.]+)', str(error))
        offending = found.group(1) if found else 'an object'
        raise UnsafeCheckpointError(
            f'Refused to load {source!r}: it pickles {offending}, which is '
            'not among the globals OpenMMLab checkpoints need, and unpickling '
            'it could run arbitrary code. If you trust this file, load it '
            f'with {TRUST_ENV}=1 in the environment or inside '
            '`with mmctx.checkpoint.trusted_checkpoints():`.') from error


def _call(function, source: str, *args, **kwargs):
    """``function(*args, **kwargs)`` with ``weights_only=True`` and the
    allowlist, or ``weights_only=False`` when :func:`trusting`."""
    kwargs['weights_only'] = not trusting()
    if not kwargs['weights_only']:
        return function(*args, **kwargs)
    with _refusing_unsafe_globals(source):
        return function(*args, **kwargs)


def load(f, *args, **kwargs):
    """:func:`torch.load` held to the rules of this module."""
    source = f if isinstance(f, str) else 'a stream'
    return _call(torch.load, source, f, *args, **kwargs)


def load_url(url, *args, **kwargs):
    """:func:`torch.hub.load_state_dict_from_url` (mmengine's ``load_url``),
    held to the same rules as :func:`load`."""
    from torch.hub import load_state_dict_from_url
    return _call(load_state_dict_from_url, url, url, *args, **kwargs)
