"""Helpers for the tests (as ``mmdet.testing`` is for mmdet's): end-to-end
checks on the real-data samples, skip reasons, paths."""
from .coco_sample import (MetricHistoryHook, format_cfg_options,
                          format_history, is_panoptic, overfit_cfg,
                          sample_cfg_options, write_thing_annotations)
from .paths import repo_root_of
from .processes import free_port, output_tail
from .skips import mmpretrain_missing

__all__ = [
    'MetricHistoryHook', 'format_cfg_options', 'format_history', 'free_port',
    'is_panoptic', 'mmpretrain_missing', 'output_tail', 'overfit_cfg',
    'repo_root_of', 'sample_cfg_options', 'write_thing_annotations'
]
