"""Argument checks shared by the blocks: errors name the argument and the
values it may take."""
from typing import Mapping, Sequence


def is_int(value) -> bool:
    """An int, but not a bool (``True == 1`` would pass as a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive_int(value, name: str) -> int:
    if not is_int(value) or value <= 0:
        raise ValueError(f'{name} must be a positive int, but got {value!r}')
    return value


def check_choice(value, name: str, choices: Sequence):
    """One of ``choices``, of the same type (``1.0`` is not the choice
    ``1``, ``True`` not ``1``)."""
    if not any(value == c and type(value) is type(c) for c in choices):
        raise ValueError(
            f'{name} must be one of {tuple(choices)}, but got {value!r}')
    return value


def check_bool(value, name: str) -> bool:
    """A bool: the string ``'False'`` would otherwise count as True."""
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be True or False, but got {value!r}')
    return value


LAYER_CFG_EXAMPLES = {
    'conv_cfg': "dict(type='Conv2d')",
    'act_cfg': "dict(type='ReLU')",
    'gate_cfg': "dict(type='Sigmoid')",
}


def check_layer_cfg(value, name: str):
    """None or a dict with a ``type`` (mmcv asserts on a bare string such as
    ``norm_cfg='BN'``)."""
    if value is not None and not (isinstance(value, Mapping)
                                  and 'type' in value):
        example = LAYER_CFG_EXAMPLES.get(name, "dict(type='BN')")
        raise TypeError(f'{name} must be None or a dict with a type, such as '
                        f'{example}, but got {value!r}')
    return value


def check_layer_cfgs(**cfgs) -> None:
    """:func:`check_layer_cfg` on each keyword (``norm_cfg=...``)."""
    for name, value in cfgs.items():
        check_layer_cfg(value, name)


def check_ratio(value, name: str) -> float:
    """A number in [0, 1) (a dropout ratio)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < 1:
        raise ValueError(f'{name} must be a number in [0, 1), but got '
                         f'{value!r}')
    return value
