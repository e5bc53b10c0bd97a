"""Argument checks shared by the blocks: errors name the argument and the
values it may take."""
from typing import Sequence


def is_int(value) -> bool:
    """An int, but not a bool (``True == 1`` would pass as a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive_int(value, name: str) -> int:
    if not is_int(value) or value <= 0:
        raise ValueError(f'{name} must be a positive int, but got {value!r}')
    return value


def check_choice(value, name: str, choices: Sequence):
    if value not in choices or isinstance(value, bool):
        raise ValueError(
            f'{name} must be one of {tuple(choices)}, but got {value!r}')
    return value
