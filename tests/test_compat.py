"""The compatibility layer applied by ``import mmctx`` (mmctx/compat.py)."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.runner import load_checkpoint, save_checkpoint

import mmctx  # noqa: F401
from mmctx import compat
from mmctx.testing import free_port


def run_python(code, **env):
    """Run ``code`` in a fresh interpreter; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **env
        },
        timeout=300)


def save_numpy_meta_checkpoint(path):
    model = torch.nn.Linear(2, 3)
    meta = dict(
        epoch=np.int64(3),
        lr=np.float32(0.01),
        hist=np.arange(4),
        seed=np.int32(7))
    save_checkpoint(dict(state_dict=model.state_dict(), meta=meta), path)
    return model


@pytest.mark.smoke
def test_all_patches_applied_by_default():
    from torch.fx import _symbolic_trace

    from mmctx.deployment import export_has_dynamo_switch
    expected = {'checkpoint', 'cpu_dist', 'cpu_ddp', 'cpu_amp', 'gloo_exit'}
    if importlib.util.find_spec('mmdeploy') is not None:
        # each applied once mmdeploy is imported, where torch needs it
        expected.add('mmdeploy_sdpa')
        if export_has_dynamo_switch():
            expected.add('mmdeploy_exporter')
        if isinstance(_symbolic_trace._wrapped_fns_to_patch, dict):
            expected.add('mmdeploy_fx')
    assert set(compat.applied) == expected


@pytest.mark.smoke
def test_checkpoint_with_numpy_meta_round_trips(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    saved = save_numpy_meta_checkpoint(path)
    model = torch.nn.Linear(2, 3)
    ckpt = load_checkpoint(model, path, map_location='cpu')
    assert ckpt['meta']['epoch'] == 3 and isinstance(ckpt['meta']['epoch'],
                                                     np.int64)
    np.testing.assert_array_equal(ckpt['meta']['hist'], np.arange(4))
    torch.testing.assert_close(model.weight, saved.weight, rtol=0, atol=0)


TORCH_LOADS_WEIGHTS_ONLY = tuple(
    int(v) for v in torch.__version__.split('.')[:2]) >= (2, 6)


@pytest.mark.skipif(
    not TORCH_LOADS_WEIGHTS_ONLY,
    reason=f'torch {torch.__version__} loads with '
    'weights_only=False by default: nothing to refuse')
def test_plain_torch_load_keeps_torch_default(tmp_path):
    """Only mmengine's loaders get the allowlist; torch.load stays as is."""
    path = str(tmp_path / 'ckpt.pth')
    save_numpy_meta_checkpoint(path)
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(path)


def test_checkpoint_patch_can_be_disabled(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    save_numpy_meta_checkpoint(path)
    code = f"""
        import torch, mmctx
        from mmctx import compat
        from mmengine.runner import load_checkpoint
        assert 'checkpoint' not in compat.applied, compat.applied
        load_checkpoint(torch.nn.Linear(2, 3), {path!r}, map_location='cpu')
    """
    disabled = run_python(code, MMCTX_COMPAT_DISABLE='checkpoint')
    if not TORCH_LOADS_WEIGHTS_ONLY:  # torch's default: it loads anything
        assert disabled.returncode == 0, disabled.stderr
        return
    assert disabled.returncode != 0
    assert ('Unsupported global' in disabled.stderr
            or 'weights_only' in disabled.stderr)


def test_disable_list_parsing(monkeypatch):
    monkeypatch.setenv('MMCTX_COMPAT_DISABLE', ' cpu_dist, cpu_ddp ')
    assert compat.disabled_patches() == {'cpu_dist', 'cpu_ddp'}
    monkeypatch.setenv('MMCTX_COMPAT_DISABLE', 'all')
    assert compat.disabled_patches() == set(compat._PATCHES)
    monkeypatch.setenv('MMCTX_COMPAT_DISABLE', 'chekpoint')
    with pytest.raises(ValueError, match='MMCTX_COMPAT_DISABLE.*chekpoint'):
        compat.disabled_patches()


def test_disable_all_applies_nothing():
    result = run_python(
        'import mmctx; from mmctx import compat; print(compat.applied)',
        MMCTX_COMPAT_DISABLE='all')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'


def test_import_emits_no_warnings(repo_root):
    """Neither the import nor inheriting ``mmseg::`` bases warns (setuptools
    >= 80.9 would warn about pkg_resources on every base: the bootstrap pins
    it below)."""
    quiet = run_python(f"""
        import mmctx
        from mmengine.config import Config
        Config.fromfile({repo_root!r} + '/configs/sr_r50_cityscapes.py')
    """)
    assert quiet.returncode == 0 and quiet.stderr == '', quiet.stderr
    # With every warning shown, torch's own jit deprecations (raised while
    # mmcv/mmdet import) appear, but none comes from mmctx.
    loud = run_python('import mmctx', PYTHONWARNINGS='always')
    assert loud.returncode == 0, loud.stderr
    assert 'Warning' in loud.stderr
    package = osp.dirname(mmctx.__file__) + os.sep  # not the clone's name
    sources = [
        line for line in loud.stderr.splitlines() if line.startswith(package)
    ]
    assert sources == [], sources


def test_resume_from_mmengine_checkpoint(tmp_path):
    """Runner.resume reads message_hub HistoryBuffers and numpy meta back."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class ToyModel(BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 1)

        def forward(self, inputs, labels, mode='tensor'):
            loss = ((self.linear(inputs).squeeze(1) - labels)**2).mean()
            return dict(loss=loss) if mode == 'loss' else loss

    dataset = [dict(inputs=torch.randn(2), labels=torch.tensor(1.))] * 4

    def make_runner(max_iters, resume):
        return Runner(
            model=ToyModel(),
            work_dir=str(tmp_path),
            train_dataloader=dict(
                dataset=dataset,
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=2,
                collate_fn=dict(type='default_collate')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            train_cfg=dict(by_epoch=False, max_iters=max_iters),
            default_hooks=dict(
                checkpoint=dict(
                    type='CheckpointHook', interval=2, by_epoch=False)),
            resume=resume,
            experiment_name=f'toy{max_iters}')

    make_runner(2, resume=False).train()
    runner = make_runner(3, resume=True)
    runner.train()
    assert runner.iter == 3


DIST_CODE = """
    import os, torch, mmctx
    from mmengine.dist import init_dist, get_world_size
    from mmengine.model import MMDistributedDataParallel
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                      MASTER_ADDR='127.0.0.1', MASTER_PORT='{port}')
    init_dist('pytorch', backend='nccl')  # the stock configs' backend
    assert torch.distributed.get_backend() == 'gloo'
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                torch.nn.SyncBatchNorm(4))
    ddp = MMDistributedDataParallel(module=model, device_ids=[0])
    assert ddp.device_ids is None
    assert not any(
        isinstance(m, torch.nn.SyncBatchNorm) for m in ddp.modules())
    ddp(torch.randn(2, 3, 5, 5)).sum().backward()
    print('dist ok', get_world_size())
"""


def test_cpu_distributed_with_stock_settings():
    if torch.cuda.is_available():
        pytest.skip('the CPU code path is only taken without CUDA')
    port = free_port()
    result = run_python(DIST_CODE.format(port=port))
    assert result.returncode == 0, result.stderr
    assert 'dist ok 1' in result.stdout
    disabled = run_python(
        DIST_CODE.format(port=port), MMCTX_COMPAT_DISABLE='cpu_dist')
    assert disabled.returncode != 0


EXIT_SCRIPT = r"""
import os, sys, threading, time
import torch.distributed as dist
import mmctx
if sys.argv[1] == 'gloo':
    store = dist.HashStore()
    dist.init_process_group('gloo', store=store, rank=0, world_size=1)
start = time.monotonic()

def tick():
    # runs only while the main thread does not hold the GIL
    with open(sys.argv[2], 'a') as f:
        while True:
            f.write(f'{time.monotonic() - start}\n')
            f.flush()
            time.sleep(0.005)

threading.Thread(target=tick, daemon=True).start()
time.sleep(0.01)
start = time.monotonic()
"""


@pytest.mark.slow
@pytest.mark.parametrize('group, disable, runs_on', [
    ('gloo', '', True),
    ('gloo', 'gloo_exit', False),
    ('none', '', False),
])
def test_exit_gives_the_gil_to_gloo_threads(tmp_path, group, disable, runs_on):
    """With a gloo group, other threads run for 50 ms after the script ends
    (the time gloo's threads need to release a finished collective's work
    before the interpreter finalises); without one, exit is not delayed."""
    script, ticks = tmp_path / 'exit.py', tmp_path / 'ticks'
    script.write_text(EXIT_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), group,
         str(ticks)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ, 'MMCTX_COMPAT_DISABLE': disable
        })
    assert result.returncode == 0, result.stderr
    # the last line may be cut off by the exit
    ran_after_end = max(float(line) for line in ticks.read_text().split()[:-1])
    assert (ran_after_end >= 0.04) == runs_on, ran_after_end
