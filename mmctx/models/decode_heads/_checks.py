"""Checks of the BaseDecodeHead arguments that mmseg passes unchecked,
run before the head builds anything: errors name the head's argument."""
from ..layers._checks import check_positive_int, check_ratio


def check_decode_head_args(kwargs: dict) -> None:
    """``channels`` a positive int and ``dropout_ratio`` in [0, 1), as
    written in ``kwargs`` (a ``'0.1'`` string fails deep in mmseg)."""
    if 'channels' in kwargs:
        check_positive_int(kwargs['channels'], 'channels')
    if 'dropout_ratio' in kwargs:
        check_ratio(kwargs['dropout_ratio'], 'dropout_ratio')
