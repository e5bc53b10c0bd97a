"""End to end on real COCO images: our detection configs train and evaluate.

Each case loads one of the real config files, points it at the two COCO
val2017 images of ``../shared/data/coco_panoptic_sample`` with
``--cfg-options``-style overrides (``Config.merge_from_dict``; the same
overrides ``tools/overfit_det.py`` prints for ``mim train/test``), trains one
iteration with mmengine's Runner on the CPU (no pretrained weights, short
side 160) and evaluates with the config's own metric: CocoMetric for Mask
R-CNN and Cascade Mask R-CNN, CocoPanopticMetric for Panoptic FPN.
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

pytestmark = pytest.mark.e2e

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CASES = [
    ('srnet/mask-rcnn_r50-sr-c5_fpn_1x_coco.py', ('coco/bbox_mAP',
                                                  'coco/segm_mAP')),
    ('isanet/cascade-mask-rcnn_r50-isa-c5_fpn_1x_coco.py', ('coco/bbox_mAP',
                                                            'coco/segm_mAP')),
    ('isanet/panoptic-fpn_r50-isa-c4_fpn_1x_coco.py',
     ('coco_panoptic/PQ', 'coco_panoptic/PQ_th', 'coco_panoptic/PQ_st')),
]
PLUGIN_TYPES = ('SRBlock', 'ISABlock')


def plugin_blocks(model):
    return [m for m in model.modules() if type(m).__name__ in PLUGIN_TYPES]


@torch.no_grad()
def is_identity(block):
    x = torch.randn(1, block.in_channels, 5, 7)
    return torch.equal(block(x), x)


class RecordHook(Hook):
    """Checks the plugins at the start of training; records losses and the
    final metrics."""

    def __init__(self):
        self.identity_at_start = None
        self.losses = []
        self.metrics = None

    def before_train(self, runner):
        blocks = plugin_blocks(runner.model)
        self.identity_at_start = bool(blocks) and all(
            is_identity(b) for b in blocks)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = dict(metrics or {})


@pytest.mark.parametrize('config,metric_keys', CASES)
def test_train_and_evaluate_on_coco_sample(config, metric_keys, tmp_path,
                                           shared_data):
    from mmengine.runner import Runner

    from mmctx.testing import (is_panoptic, sample_cfg_options,
                               write_thing_annotations)
    data_dir = osp.join(shared_data, 'coco_panoptic_sample')
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    ann_file = None
    if not is_panoptic(cfg):
        ann_file = write_thing_annotations(
            data_dir, str(tmp_path / 'instances_sample.json'))
    options = sample_cfg_options(cfg, data_dir, ann_file, short_side=160)
    options.update({
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.checkpoint': None,
        'work_dir': str(tmp_path),
        'experiment_name': osp.splitext(osp.basename(config))[0],
        'randomness.seed': 0,
        # 100 instead of 1000-2000 proposals per image: CPU time
        'model.train_cfg.rpn_proposal.max_per_img': 100,
        'model.test_cfg.rpn.max_per_img': 100,
    })
    cfg.merge_from_dict(options)
    record = RecordHook()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(record)

    runner.train()

    # identity at the start (after the backbone's init_cfg) ...
    assert record.identity_at_start is True
    # ... one finite optimisation step over both images ...
    assert len(record.losses) == 1 and math.isfinite(record.losses[0])
    # ... that reached the plugins through the real optimizer
    assert not any(is_identity(b) for b in plugin_blocks(runner.model))
    upper = 100.0 if 'coco_panoptic/PQ' in metric_keys else 1.0
    for key in metric_keys:
        value = record.metrics[key]
        assert 0.0 <= value <= upper, (key, value)
