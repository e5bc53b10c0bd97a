"""Argument types for the command-line tools: a bad value is refused while
the arguments are parsed, naming the option and what was written, not after
the work (or deep inside torch); and the config a tool is given."""
import argparse
import math
import os
import os.path as osp
from typing import Dict, Optional

#: What ``mmengine.Config.fromfile`` reads.
CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')


def positive_int(value: str) -> int:
    """An ``int`` > 0 (``--threads 0`` used to be ignored)."""
    number = _int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(
            f'must be a positive int, got {value}')
    return number


def positive_float(value: str) -> float:
    """A finite ``float`` > 0 (``--tolerance nan`` failed every check after
    the work)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be a number, got {value!r}')
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(
            f'must be a positive finite number, got {value}')
    return number


def torch_device(value: str) -> str:
    """A device this torch has: ``cpu``, or ``cuda[:i]`` where CUDA is
    available (refused here, not when the model moves)."""
    import torch
    try:
        device = torch.device(value)
    except RuntimeError:
        raise argparse.ArgumentTypeError(
            f"must be a device such as 'cpu' or 'cuda:0', got {value!r}")
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(
            f'{value!r}: CUDA is not available in this torch '
            f'({torch.__version__})')
    if device.type not in ('cpu', 'cuda'):
        raise argparse.ArgumentTypeError(
            f"must be 'cpu' or 'cuda[:i]', got {value!r}")
    return value


def non_negative_int(value: str) -> int:
    number = _int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return number


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be an int, got {value!r}')


def writable_file(value: str) -> str:
    """A path a file can be written to: its folder exists and is writable,
    and it is not a folder itself."""
    folder = osp.dirname(osp.abspath(value))
    if osp.isdir(value):
        raise argparse.ArgumentTypeError(f'{value!r} is a folder, not a file')
    if not osp.isdir(folder):
        raise argparse.ArgumentTypeError(
            f'cannot write {value!r}: no folder {folder!r}')
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(
            f'cannot write {value!r}: folder {folder!r} is not writable')
    return value


def folder_to_create(value: str) -> str:
    """A folder that exists or can be made (not an existing file)."""
    if osp.exists(value) and not osp.isdir(value):
        raise argparse.ArgumentTypeError(f'{value!r} is a file, not a folder')
    return value


def load_config(path: str, cfg_options: Optional[Dict] = None):
    """A config by file or as ``mmctx::<path>``, with ``cfg_options``
    merged.

    Raises:
        FileNotFoundError: no such file or shipped config.
        ValueError: the file is not a config mmengine reads.
    """
    from mmengine.config import Config

    from _mmctx_scope import PREFIX, shipped_config_path
    if path.startswith(PREFIX):
        path = shipped_config_path(path[len(PREFIX):])
    elif not osp.isfile(path):
        raise FileNotFoundError(f'config: no such file {path!r}')
    if osp.splitext(path)[1] not in CONFIG_SUFFIXES:
        raise ValueError(f'config: {path!r} is not a config file (one of '
                         f'{", ".join(CONFIG_SUFFIXES)})')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def existing_folder(value: str) -> str:
    """A folder that exists (the data samples, a dataset root)."""
    if not osp.isdir(value):
        raise argparse.ArgumentTypeError(f'no such folder {value!r}')
    return value
