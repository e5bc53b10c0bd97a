"""End to end with the real mmseg Runner on ../shared/data/cityscapes_sample.

The real alias configs (``configs/sr_r50_cityscapes.py``,
``configs/isa_r50_cityscapes.py``: R-50-D8, 769x769 Cityscapes settings) are
loaded with ``--cfg-options``-style overrides only: no pretrained weights,
BN instead of SyncBN, a 64x128 crop of the 256x128 sample, two iterations.
Then: mIoU through mmseg's IoUMetric, resume from the saved checkpoint, the
same training as two gloo processes (``tools/dist_train.sh``: torchrun around
mmseg's train.py, ``--launcher pytorch``), and ``mim test mmseg`` on the
checkpoint.
"""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmctx  # noqa: F401
from mmctx.testing import free_port, output_tail

pytestmark = pytest.mark.slow

CONFIGS = {
    'sr': 'configs/sr_r50_cityscapes.py',
    'isa': 'configs/isa_r50_cityscapes.py'
}


def make_runner(repo_root, head, options, work_dir, **extra):
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[head]))
    cfg.merge_from_dict(options)
    cfg.merge_from_dict(extra)
    cfg.work_dir = str(work_dir)
    return Runner.from_cfg(cfg)


class CountIterations(Hook):

    def __init__(self):
        self.iters = 0

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.iters += 1


@pytest.fixture(scope='module')
def data_root(shared_data):
    return osp.join(shared_data, 'cityscapes_sample')


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def trained(request, repo_root, data_root, seg_sample, tmp_path_factory):
    """Two training iterations and a validation of one head."""
    head = request.param
    work_dir = tmp_path_factory.mktemp(f'e2e_{head}')
    runner = make_runner(repo_root, head, seg_sample.overrides(data_root, 2),
                         work_dir)
    runner.train()  # validates after the last iteration (val_interval)
    metrics = {
        key: runner.message_hub.get_scalar(f'val/{key}').current()
        for key in ('aAcc', 'mIoU', 'mAcc')
    }
    return head, work_dir, metrics


@pytest.mark.stack
def test_trains_and_evaluates_miou(trained):
    head, work_dir, metrics = trained
    assert 0.0 <= metrics['mIoU'] <= metrics['mAcc'] <= 100.0
    assert 0.0 < metrics['aAcc'] <= 100.0  # some of 32k labelled pixels hit
    state = torch.load(
        osp.join(work_dir, 'iter_2.pth'),
        map_location='cpu',
        weights_only=False)['state_dict']
    assert any(
        k.startswith({
            'sr': 'decode_head.sr_block.',
            'isa': 'decode_head.isa_module.'
        }[head]) for k in state)


@pytest.mark.stack
def test_resumes_from_checkpoint(trained, repo_root, data_root, seg_sample,
                                 tmp_path_factory):
    head, work_dir, _ = trained
    resume_dir = tmp_path_factory.mktemp(f'resume_{head}')
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    runner = make_runner(
        repo_root,
        head,
        seg_sample.overrides(data_root, 3),
        resume_dir,
        resume=True,
        load_from=checkpoint)
    counter = CountIterations()
    runner.register_hook(counter)
    runner.train()
    # iterations 1-2 come from the checkpoint: only the third one runs
    assert counter.iters == 1 and runner.iter == 3
    resumed = torch.load(
        osp.join(resume_dir, 'iter_3.pth'),
        map_location='cpu',
        weights_only=False)
    assert resumed['meta']['iter'] == 3


@pytest.mark.stack
@pytest.mark.parametrize('trained', ['isa'], indirect=True)
def test_mim_test_with_the_checkpoint(trained, repo_root, data_root,
                                      seg_sample, tmp_path):
    """`mim test mmseg` on the saved checkpoint reproduces the Runner's
    validation metrics (same weights, same image, deterministic)."""
    head, work_dir, trained_metrics = trained
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    overrides = {
        k: v
        for k, v in seg_sample.overrides(data_root, 2).items()
        if not k.startswith('train')
    }
    cmd = [
        mim, 'test', 'mmseg', CONFIGS[head], '--checkpoint',
        osp.join(work_dir, 'iter_2.pth'), '--work-dir',
        str(tmp_path), '--cfg-options', *seg_sample.as_cli(overrides)
    ]
    result = subprocess.run(
        cmd, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, output_tail(result)
    logs = [
        osp.join(root, f) for root, _, files in os.walk(tmp_path)
        for f in files if f.endswith('.json')
    ]
    assert logs, 'mim test wrote no metrics'
    with open(logs[0]) as f:
        metrics = json.load(f)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert metrics[key] == pytest.approx(trained_metrics[key], abs=0.01)


@pytest.mark.parametrize('launch', ['dist_train.sh', 'mim train'])
def test_two_process_gloo_training(launch, repo_root, data_root, seg_sample,
                                   tmp_path):
    """2 processes, ``--launcher pytorch``, gloo, launched by
    ``tools/dist_train.sh CONFIG 2`` (torchrun around mmseg's train.py) or
    ``mim train mmseg CONFIG --launcher pytorch --gpus 2``."""
    options = seg_sample.overrides(data_root, 2)
    options['env_cfg.dist_cfg.backend'] = 'gloo'
    port = free_port()
    if launch == 'mim train':
        mim = osp.join(osp.dirname(sys.executable), 'mim')
        head = [
            mim, 'train', 'mmseg', CONFIGS['isa'], '--launcher', 'pytorch',
            '--gpus', '2', '--port',
            str(port)
        ]
    else:
        head = ['bash', 'tools/dist_train.sh', CONFIGS['sr'], '2']
    cmd = head + [
        '--work-dir',
        str(tmp_path), '--cfg-options', *seg_sample.as_cli(options)
    ]
    env = dict(
        os.environ, OMP_NUM_THREADS='1', PORT=str(port), PYTHON=sys.executable)
    result = subprocess.run(
        cmd,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=400,
        env=env)
    assert result.returncode == 0, output_tail(result)
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'mIoU' in log
    shutil.rmtree(tmp_path, ignore_errors=True)


# The papers' comparison rows on Cityscapes (SR Table IV, ISA Tables 10 and
# 12): one module each in the comparison head, trained and validated by the
# Runner as their configs are written.
COMPARISON_ROWS = [
    f'configs/srnet/{row}_r50-d8_4xb2-50k_cityscapes-769x769.py'
    for row in ('fcn-2conv', 'senet-2conv', 'nonlocal-2conv', 'a2net-2conv',
                'cgnl-2conv', 'ccnet-2conv', 'encnet-2conv', 'ann-2conv',
                'emanet-2conv', 'pspnet', 'deeplabv3')
] + [
    f'configs/isanet/{row}_r101-d8_4xb2-40k_cityscapes-769x769.py'
    for row in ('fcn', 'pspnet', 'sa', 'sa-2x', 'ccnet', 'cgnl')
]


class RecordLoss(Hook):
    """Keeps the training losses the Runner logs."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))


@pytest.mark.parametrize('config', COMPARISON_ROWS, ids=osp.basename)
def test_comparison_rows_train_a_step(config, repo_root, data_root, seg_sample,
                                      tmp_path):
    """Each row's config trains through the Runner as written: one step at
    R-50, without validation (the SA-2x row below trains and tests at
    R-101 through mim, with mIoU; mIoU itself is owned by
    test_trains_and_evaluates_miou)."""
    cfg = Config.fromfile(osp.join(repo_root, config))
    cfg.merge_from_dict(seg_sample.overrides(data_root, 1))
    # two crops: the pooled 1x1 branches of PSP and ASPP have BN; saving
    # is owned by test_resumes_from_checkpoint
    cfg.merge_from_dict({
        'train_dataloader.batch_size': 2,
        'model.backbone.depth': 50,
        'default_hooks.checkpoint': None
    })
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.pop('val_interval', None)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    losses = RecordLoss()
    runner.register_hook(losses)
    runner.train()
    (loss, ) = losses.losses
    assert loss > 0 and torch.isfinite(torch.tensor(loss))


@pytest.mark.stack
def test_mim_train_and_test_a_comparison_row(repo_root, data_root, seg_sample,
                                             tmp_path):
    """The CLI path of the comparison configs: ``mim train`` then ``mim
    test`` with the checkpoint (ISA Table 12's SA-2x row)."""
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    config = 'configs/isanet/sa-2x_r101-d8_4xb2-40k_cityscapes-769x769.py'
    options = seg_sample.as_cli(seg_sample.overrides(data_root, 1))
    train = subprocess.run([
        mim, 'train', 'mmseg', config, '--work-dir',
        str(tmp_path), '--cfg-options', *options
    ],
                           cwd=repo_root,
                           capture_output=True,
                           text=True,
                           timeout=400)
    assert train.returncode == 0, output_tail(train)
    test = subprocess.run([
        mim, 'test', 'mmseg', config, '--checkpoint',
        osp.join(tmp_path, 'iter_1.pth'), '--work-dir',
        str(tmp_path), '--cfg-options', *options
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=400)
    assert test.returncode == 0, output_tail(test)
    assert 'mIoU' in test.stdout + test.stderr
