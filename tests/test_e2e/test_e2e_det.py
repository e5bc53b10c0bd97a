"""End to end on real COCO images: our detection configs train and evaluate.

Each case loads one of the real config files, points it at the two COCO
val2017 images of ``../shared/data/coco_panoptic_sample`` with
``--cfg-options``-style overrides (``Config.merge_from_dict``; the same
overrides ``.dev_scripts/overfit_det.py`` prints for ``mim train/test``),
trains one iteration with mmengine's Runner on the CPU (no pretrained
weights, short side 160) and evaluates with the config's own metric:
CocoMetric for Mask R-CNN, CocoPanopticMetric for Panoptic FPN.
"""
import math
import os.path as osp
import shlex
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmctx.testing import output_tail, repo_root_of

pytestmark = pytest.mark.slow

REPO_ROOT = repo_root_of(__file__)
# one Runner training per task and plugin (ISA's instance row trains through
# mim below): Mask R-CNN with SR, Panoptic FPN with ISA
CASES = [
    ('srnet/mask-rcnn_r50-sr-c5_fpn_1x_coco.py', ('coco/bbox_mAP',
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


def test_mim_train_then_mim_test_a_paper_row(tmp_path, shared_data):
    """ISA Table 7's "+ Ours" row (one ISA block before the last bottleneck
    of res-4, ``mmctx.DetContextResNet``) as a user runs it: ``mim train
    mmdet`` for one epoch over the two images, then ``mim test mmdet`` with
    the checkpoint. The checkpoint holds the trained block, and the
    predictions ``mim test`` dumps are those of the checkpoint loaded here
    (mAP is 0 after one step from scratch, so it cannot show that)."""
    from mmdet.apis import inference_detector, init_detector
    from mmengine.fileio import load

    from mmctx.testing import (format_cfg_options, sample_cfg_options,
                               write_thing_annotations)
    config = osp.join(REPO_ROOT, 'configs', 'isanet',
                      'mask-rcnn_r50-isa1-c4_fpn_1x_coco.py')
    data_dir = osp.join(shared_data, 'coco_panoptic_sample')
    ann_file = write_thing_annotations(data_dir,
                                       str(tmp_path / 'instances.json'))
    cfg = Config.fromfile(config)
    options = sample_cfg_options(cfg, data_dir, ann_file, short_side=160)
    options.update({
        'train_cfg.max_epochs': 1,
        'model.train_cfg.rpn_proposal.max_per_img': 100,
        'model.test_cfg.rpn.max_per_img': 100,
    })
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cli_options = shlex.split(format_cfg_options(options))

    def run(*args):
        result = subprocess.run([mim, *args, '--cfg-options', *cli_options],
                                cwd=REPO_ROOT,
                                capture_output=True,
                                text=True,
                                timeout=400)
        assert result.returncode == 0, (output_tail(result))

    checkpoint = str(tmp_path / 'train' / 'epoch_1.pth')
    run('train', 'mmdet', config, '--work-dir', str(tmp_path / 'train'))
    state = torch.load(
        checkpoint, map_location='cpu', weights_only=False)['state_dict']
    block = {
        k: v
        for k, v in state.items() if k.startswith('backbone.layer3.context4.')
    }
    # the zero-initialised last layer has taken the step
    assert block and any(v.abs().sum() > 0
                         for k, v in block.items() if 'out' in k)
    dumped = str(tmp_path / 'predictions.pkl')
    run('test', 'mmdet', config, '--checkpoint', checkpoint, '--work-dir',
        str(tmp_path / 'test'), '--out', dumped)

    cfg.merge_from_dict(options)
    model = init_detector(cfg, checkpoint, device='cpu')
    for prediction in load(dumped):
        ours = inference_detector(model, prediction['img_path'])
        torch.testing.assert_close(
            ours.pred_instances.scores,
            prediction['pred_instances']['scores'],
            rtol=1e-4,
            atol=1e-5)
