"""The two-image COCO sample (``coco_panoptic_sample`` of the data
samples) as a detection dataset: the ``--cfg-options`` that point a stock
mmdet-based config at it, and the settings that overfit a config on it from
scratch on a CPU. Used by ``.dev_scripts/overfit_det.py`` and the end-to-end
detection tests."""
import json
import os
import os.path as osp
import shlex
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.hooks import Hook

# Stock mmdet pipelines resize to a short side of 800 (1333x800).
STOCK_SHORT_SIDE = 800
RESIZE_TYPES = ('Resize', 'RandomResize')


def write_thing_annotations(data_dir: str, out_file: str) -> str:
    """Write the sample's COCO instance annotations: things only.

    ``panoptic_coco_detection_format.json`` holds every panoptic segment,
    stuff included, under 133 categories; an instance dataset takes the 80
    ``isthing=1`` categories (standard COCO instance ids and names).

    Returns:
        str: ``out_file``.
    """
    with open(osp.join(data_dir, 'panoptic_coco_categories.json')) as f:
        is_thing = {c['id']: c['isthing'] for c in json.load(f)}
    with open(osp.join(data_dir, 'panoptic_coco_detection_format.json')) as f:
        coco = json.load(f)
    coco['categories'] = [c for c in coco['categories'] if is_thing[c['id']]]
    coco['annotations'] = [
        a for a in coco['annotations'] if is_thing[a['category_id']]
    ]
    with open(out_file, 'w') as f:
        json.dump(coco, f)
    return out_file


def _scaled(scale, factor: float):
    """A ``scale`` of a resize transform (tuple or list of tuples) * factor."""
    if isinstance(scale, (list, tuple)) and scale and isinstance(
            scale[0], (list, tuple)):
        return [_scaled(s, factor) for s in scale]
    return tuple(int(round(s * factor)) for s in scale)


def _resize_options(prefix: str, pipeline: Sequence[dict],
                    factor: float) -> Dict:
    options = {}
    for index, transform in enumerate(pipeline):
        if transform['type'] in RESIZE_TYPES and 'scale' in transform:
            options[f'{prefix}.{index}.scale'] = _scaled(
                transform['scale'], factor)
    return options


def is_panoptic(cfg: Config) -> bool:
    return cfg.train_dataloader.dataset.type == 'CocoPanopticDataset'


def sample_cfg_options(cfg: Config,
                       data_dir: str,
                       instance_ann_file: Optional[str] = None,
                       short_side: int = 320,
                       batch_size: int = 2) -> Dict:
    """``--cfg-options`` that point a stock-based config at the sample.

    Args:
        cfg (Config): The loaded detection config (its pipelines and
            dataset type are read, not changed).
        data_dir (str): ``coco_panoptic_sample`` folder.
        instance_ann_file (str, optional): Things-only COCO json from
            :func:`write_thing_annotations`; needed for instance configs.
        short_side (int): Short side the images are resized to; every resize
            scale of the pipelines is multiplied by ``short_side / 800``.
        batch_size (int): Train batch size (both images in one batch).

    Returns:
        dict: Flat ``key.sub.key -> value`` overrides for
        ``Config.merge_from_dict`` (what ``--cfg-options`` builds).
    """
    data_root = osp.abspath(data_dir) + os.sep
    panoptic = is_panoptic(cfg)
    if panoptic:
        ann_file = 'panoptic_examples.json'
        data_prefix = dict(img='input_images/', seg='panoptic_examples/')
    else:
        if instance_ann_file is None:
            raise ValueError('instance_ann_file is needed for the instance '
                             'dataset of this config')
        ann_file = osp.abspath(instance_ann_file)
        data_prefix = dict(img='input_images/')
    factor = short_side / STOCK_SHORT_SIDE
    options = {'model.backbone.init_cfg': None}
    for split in ('train', 'val', 'test'):
        loader = f'{split}_dataloader'
        options[f'{loader}.batch_size'] = batch_size if split == 'train' else 1
        options[f'{loader}.num_workers'] = 0
        options[f'{loader}.persistent_workers'] = False
        options[f'{loader}.dataset.data_root'] = data_root
        options[f'{loader}.dataset.ann_file'] = ann_file
        for key, value in data_prefix.items():
            options[f'{loader}.dataset.data_prefix.{key}'] = value
        options.update(
            _resize_options(f'{loader}.dataset.pipeline',
                            cfg[loader].dataset.pipeline, factor))
    for split in ('val', 'test'):
        evaluator = f'{split}_evaluator'
        if panoptic:
            options[f'{evaluator}.ann_file'] = data_root + ann_file
            options[f'{evaluator}.seg_prefix'] = (
                data_root + data_prefix['seg'])
        else:
            options[f'{evaluator}.ann_file'] = ann_file
    if not panoptic:
        # An untrained detector scores below the stock 0.05; CocoMetric then
        # reports nothing at all. With 0.0 the AP is computed (and low).
        options['model.test_cfg.rcnn.score_thr'] = 0.0
    return options


def format_cfg_options(options: Dict) -> str:
    """The overrides as ``--cfg-options`` arguments for a POSIX shell."""

    def text(value):
        if value is None:
            return 'None'
        if isinstance(value, (list, tuple)):
            return repr(value).replace(' ', '')
        return str(value)

    return ' '.join(
        shlex.quote(f'{key}={text(value)}') for key, value in options.items())


class MetricHistoryHook(Hook):
    """Keeps ``(iteration, metrics)`` of every validation."""

    priority = 'VERY_LOW'

    def __init__(self):
        self.history: List[Tuple[int, Dict]] = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.history.append((runner.iter, dict(metrics or {})))


METRIC_COLUMNS = {
    'coco/bbox_mAP': 'box AP',
    'coco/segm_mAP': 'mask AP',
    'coco_panoptic/PQ': 'PQ',
}


def format_history(history: List[Tuple[int, Dict]]) -> str:
    keys = [k for k in METRIC_COLUMNS if any(k in m for _, m in history)]
    lines = [
        '| iteration | ' + ' | '.join(METRIC_COLUMNS[k] for k in keys) + ' |',
        '| --: |' + ' --: |' * len(keys)
    ]
    for iteration, metrics in history:
        values = [f'{metrics[k]:.3f}' if k in metrics else 'n/a' for k in keys]
        lines.append(f'| {iteration} | ' + ' | '.join(values) + ' |')
    return '\n'.join(lines)


def overfit_cfg(cfg: Config, iters: int, val_interval: int, lr: float,
                work_dir: str) -> Config:
    """Schedule, backbone and sampling settings for training from scratch on
    a CPU."""
    cfg.work_dir = work_dir
    cfg.model.backbone.norm_eval = False
    cfg.model.backbone.frozen_stages = -1
    # CPU time: 300 proposals and 128 sampled RoIs per image instead of
    # 1000-2000 and 512 (two images hold 43 objects)
    cfg.model.train_cfg.rpn_proposal.max_per_img = 300
    rcnn_stages = cfg.model.train_cfg.rcnn
    for stage in rcnn_stages if isinstance(rcnn_stages,
                                           list) else [rcnn_stages]:
        stage.sampler.num = 128
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=val_interval)
    cfg.optim_wrapper.optimizer.lr = lr
    # from-scratch training with a fresh BN: guard the first iterations
    cfg.optim_wrapper.clip_grad = dict(max_norm=35, norm_type=2)
    cfg.param_scheduler = [
        dict(
            type='LinearLR',
            start_factor=0.1,
            by_epoch=False,
            begin=0,
            end=min(20, iters))
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=iters,
        max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 10
    cfg.log_processor = dict(type='LogProcessor', by_epoch=False)
    cfg.randomness = dict(seed=0)
    return cfg
