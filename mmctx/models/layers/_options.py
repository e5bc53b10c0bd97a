"""Options that change what a module computes but not its parameters, kept
in its state dict so that weights are not loaded into another function.

The record is a buffer (the options as JSON in a uint8 tensor), not
PyTorch's ``get_extra_state``: a non-tensor entry in ``state_dict()`` breaks
``torch.jit.trace`` and the TorchScript ONNX export, which detach every
entry, while an unused buffer is carried by every path a model takes
(tracing, ``torch.export``, ``torch.compile``, ``.to()``, DDP), like
BatchNorm's ``num_batches_tracked``.
"""
import json
from typing import Any, Dict, Tuple

import torch

#: The buffer holding a module's record.
RECORD = 'options_record'


def encode_options(options: Dict[str, Any]) -> torch.Tensor:
    """``options`` (JSON values) as the uint8 tensor of its JSON text."""
    text = json.dumps(options, sort_keys=True)
    return torch.tensor(list(text.encode()), dtype=torch.uint8)


def decode_options(record: Any, key: str) -> Dict[str, Any]:
    """The options in a ``record`` read from the state dict's ``key``."""
    try:
        options = json.loads(bytes(record.tolist()).decode())
    except (AttributeError, TypeError, ValueError) as error:
        raise ValueError(
            f'{key} is not a record of options: {error}') from None
    if not isinstance(options, dict):
        raise ValueError(f'{key} is not a record of options: {options!r}')
    return options


class RecordedOptions:
    """Mixin for an ``nn.Module`` whose attributes named in
    ``recorded_options`` change what it computes but not its parameters.

    :meth:`record_options`, called at the end of ``__init__``, keeps them in
    the ``options_record`` buffer, so they travel with the weights through
    ``state_dict()``, ``torch.save`` and checkpoints. Loading a state dict
    whose record differs raises a ``ValueError`` naming the module, the
    option, the saved and the current value. A state dict saved before the
    options were recorded (no ``options_record``) loads as before. Options
    meant to change at test time (``down_factor``) and options that change
    the parameters (the load fails on those anyway) are not recorded.
    """

    recorded_options: Tuple[str, ...] = ()

    def current_options(self) -> Dict[str, Any]:
        """The recorded options' values, as JSON reads them back."""
        options = {name: getattr(self, name) for name in self.recorded_options}
        return json.loads(json.dumps(options))

    def record_options(self) -> None:
        self.register_buffer(RECORD, encode_options(self.current_options()))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + RECORD
        if key in state_dict:
            self._check_saved_options(
                decode_options(state_dict[key], key), prefix)
        # equal where both name an option; absent when saved before the
        # options were recorded
        state_dict[key] = getattr(self, RECORD)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_saved_options(self, saved: Dict[str, Any], prefix: str):
        current = self.current_options()
        # a record of a newer version may name options this one lacks
        for name in sorted(saved.keys() & current.keys()):
            if saved[name] != current[name]:
                owner = prefix[:-1] or 'the module'
                raise ValueError(
                    f'the state dict of {owner} ({type(self).__name__}) was '
                    f'saved with {name}={saved[name]!r}, but this module has '
                    f'{name}={current[name]!r}; its weights compute another '
                    f'function with another {name}: build it with '
                    f'{name}={saved[name]!r} to load them')
