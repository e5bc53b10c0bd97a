"""bf16 mixed-precision training on the CPU, switched on as mmseg users do:
``--amp`` (AmpOptimWrapper), which the ``cpu_amp`` compat patch lets run
without an accelerator."""
import math
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import Runner

import mmctx  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.stack]

CONFIGS = {
    'sr': 'configs/demo/srnet_r18w16-d8_1xb8-1k_context-cues-128x128.py',
    'isa': 'configs/demo/isanet_r18w16-d8_1xb8-1k_context-cues-128x128.py',
}


def overrides(data_root):
    options = {
        'train_dataloader.batch_size': 4,
        'train_dataloader.dataset.num_images': 8,
        'train_cfg.max_iters': 2,
        'param_scheduler.0.end': 2,
        'default_hooks.logger.interval': 1,
    }
    for split in ('train', 'val', 'test'):
        options[f'{split}_dataloader.dataset.data_root'] = data_root
    for split in ('val', 'test'):
        options[f'{split}_dataloader.dataset.num_images'] = 4
    return options


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('context_cues'))


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
@pytest.mark.parametrize('head', sorted(CONFIGS))
def test_two_bf16_iterations_on_the_cpu(repo_root, data_root, tmp_path, head):
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[head]))
    cfg.merge_from_dict(overrides(data_root))
    cfg.optim_wrapper.type = 'AmpOptimWrapper'  # what --amp sets
    cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    dtypes, losses = [], []
    head_module = runner.model.decode_head
    head_module.conv_seg.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output.dtype))
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}

    class RecordLoss(Hook):

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None):
            losses.append(float(outputs['loss']))

    runner.register_hook(RecordLoss())
    runner.train()
    assert isinstance(runner.optim_wrapper, AmpOptimWrapper)
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    assert dtypes[:2] == [torch.bfloat16] * 2  # the two training forwards
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    after = runner.model.state_dict()
    changed = [
        k for k in before if before[k].is_floating_point()
        and not torch.equal(before[k], after[k])
    ]
    assert len(changed) > 10
    assert all(torch.isfinite(after[k]).all() for k in changed)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
def test_fp16_on_the_cpu_is_refused_by_name():
    with pytest.raises(ValueError, match="dtype='float16'"):
        AmpOptimWrapper(
            dtype='float16',
            optimizer=torch.optim.SGD([torch.zeros(1)], lr=0.1))


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path')
def test_amp_on_a_cpu_without_bf16_instructions_warns_once(monkeypatch):
    from mmctx.engine import cpu_bf16
    monkeypatch.setattr(cpu_bf16, 'slow_bf16_message', lambda: 'slow bf16')
    cpu_bf16.warn_if_slow_bf16.cache_clear()
    try:
        with pytest.warns(UserWarning, match='slow bf16') as record:
            for _ in range(2):
                AmpOptimWrapper(
                    optimizer=torch.optim.SGD([torch.zeros(1)], lr=0.1))
        assert sum('slow bf16' in str(w.message) for w in record) == 1
    finally:
        cpu_bf16.warn_if_slow_bf16.cache_clear()


def test_mim_train_amp(repo_root, data_root, tmp_path):
    """``mim train mmseg CONFIG --amp`` on the CPU: bf16, finite losses."""
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [
        mim, 'train', 'mmseg', CONFIGS['sr'], '--amp', '--work-dir',
        str(tmp_path), '--cfg-options',
        *[f'{k}={v}' for k, v in overrides(data_root).items()]
    ]
    result = subprocess.run(
        cmd,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=400,
        env=dict(os.environ, OMP_NUM_THREADS='2'))
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'AmpOptimWrapper' in log
    losses = [float(x) for x in re.findall(r' loss: ([-\d.e+na]+)', log)]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses), log
