"""Checks of the BaseDecodeHead arguments that mmseg passes unchecked,
run before the head builds anything: errors name the head's argument."""
import inspect
from typing import Dict, Optional

from ..layers._checks import check_layer_cfgs, check_positive_int, check_ratio


def check_decode_head_args(kwargs: dict) -> None:
    """``channels`` a positive int, ``dropout_ratio`` in [0, 1) and the
    layer configs dicts, as written in ``kwargs`` (a ``'0.1'`` string or
    ``norm_cfg='BN'`` fails deep in mmseg or mmcv)."""
    if 'channels' in kwargs:
        check_positive_int(kwargs['channels'], 'channels')
    if 'dropout_ratio' in kwargs:
        check_ratio(kwargs['dropout_ratio'], 'dropout_ratio')
    check_layer_cfgs(
        **{
            name: kwargs[name]
            for name in ('conv_cfg', 'norm_cfg', 'act_cfg') if name in kwargs
        })


HEAD_ARGUMENTS = ('norm_cfg', 'act_cfg', 'init_cfg')


def _sr_block_options() -> Dict:
    """SRBlock's arguments a head may set, with their defaults: all but the
    input width and ``conv_cfg`` (the head's own)."""
    from ..layers.sr import SRBlock
    parameters = inspect.signature(SRBlock).parameters
    return {
        name: p.default
        for name, p in parameters.items()
        if name not in ('self', 'in_channels', 'conv_cfg')
    }


def check_sr_cfg(sr_cfg: Optional[Dict], kwargs: Dict, owner: str,
                 channels: Optional[int], channels_name: str) -> Dict:
    """The ``sr_cfg`` of a head with an SR block, checked before the head
    builds anything.

    Args:
        sr_cfg (dict, optional): the block's options (None: the defaults).
        kwargs (dict): the head's other arguments: a block option written
            there (the flat form) is refused, naming where it goes.
        owner (str): the head's name, for the errors.
        channels (int, optional): the block's input width, if known.
        channels_name (str): what the head's config calls that width.

    Returns:
        dict: a copy of ``sr_cfg``.
    """
    options = _sr_block_options()
    # norm_cfg, act_cfg and init_cfg are the head's own in kwargs
    flat = [
        name for name in (*options, 'sr_norm_cfg', 'sr_act_cfg')
        if name in kwargs and name not in HEAD_ARGUMENTS
    ]
    if flat:
        written = ', '.join(
            f'{name[3:] if name.startswith("sr_") else name}={kwargs[name]!r}'
            for name in flat)
        raise TypeError(
            f'{owner} takes the SR block options in sr_cfg: write '
            f'sr_cfg=dict({written}) instead of {", ".join(flat)}=...')
    if sr_cfg is None:
        return {}
    if not isinstance(sr_cfg, dict):
        raise TypeError(f'sr_cfg must be a dict of SRBlock options, but got '
                        f'{sr_cfg!r}')
    unknown = sorted(set(sr_cfg) - set(options))
    if unknown:
        raise TypeError(f'sr_cfg: unknown SRBlock options {unknown}; known: '
                        f'{sorted(options)}')
    if channels is not None:
        from ..layers.sr.sr_block import check_num_nodes, reduced_channels
        merged = dict(options, **sr_cfg)
        check_num_nodes(
            merged['num_nodes'],
            reduced_channels(channels, merged['ratio'], channels_name),
            channels_name)
    return dict(sr_cfg)
