"""Helpers for end-to-end checks on the real-data samples (as
``mmdet.testing`` is for mmdet's tests)."""
from .coco_sample import (MetricHistoryHook, format_cfg_options,
                          format_history, is_panoptic, overfit_cfg,
                          sample_cfg_options, write_thing_annotations)

__all__ = [
    'MetricHistoryHook', 'format_cfg_options', 'format_history', 'is_panoptic',
    'overfit_cfg', 'sample_cfg_options', 'write_thing_annotations'
]
