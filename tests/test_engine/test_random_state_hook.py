"""RandomStateHook: a run killed after a checkpoint and resumed ends
bit-identical to one never interrupted (dropout and random flips on), in one
process and in two gloo processes."""
import json
import logging
import os
import os.path as osp
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmctx  # noqa: F401
from mmctx.checkpoint import load
from mmctx.engine.hooks.random_state_hook import (_unusable, get_random_state,
                                                  set_random_state)
from mmctx.testing import free_port, output_tail

CONFIG = 'configs/demo/srnet_r18w16-d8_1xb8-1k_context-cues-128x128.py'
MAX_ITERS, SAVED_AT, KILLED_AT = 6, 4, 5

TRAIN = r'''
"""train.py CONFIG WORK_DIR OPTIONS_JSON KILL_ITER KILL_RANK [LAUNCHER]"""
import json, os, signal, sys, time
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
import mmctx

config, work_dir, options, kill_iter, kill_rank = sys.argv[1:6]
cfg = Config.fromfile(config)
cfg.merge_from_dict(json.loads(options))
cfg.work_dir = work_dir
cfg.launcher = sys.argv[6] if len(sys.argv) > 6 else 'none'


class Kill(Hook):
    priority = 'LOWEST'  # after CheckpointHook

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == int(kill_iter) and \
                runner.rank == int(kill_rank):
            with open(os.path.join(work_dir, 'killed_at'), 'w') as f:
                f.write(str(time.time()))
            os.kill(os.getpid(), signal.SIGKILL)


runner = Runner.from_cfg(cfg)
runner.register_hook(Kill())
runner.train()
'''


def overrides(data_root, **extra):
    """The demo's SR config (dropout 0.1, random flips drawn in the main
    process) shrunk to a few seconds: checkpoints every 2 iterations and a
    validation at iteration 4, between a save and the next batch."""
    options = {
        'train_dataloader.batch_size': 4,
        'train_dataloader.dataset.num_images': 16,
        'train_cfg.max_iters': MAX_ITERS,
        'train_cfg.val_interval': SAVED_AT,
        'param_scheduler.0.end': MAX_ITERS,
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.logger.interval': 1,
        'env_cfg.dist_cfg.backend': 'gloo',
    }
    for split in ('train', 'val', 'test'):
        options[f'{split}_dataloader.dataset.data_root'] = data_root
    for split in ('val', 'test'):
        options[f'{split}_dataloader.dataset.num_images'] = 4
    options.update(extra)
    return options


def train(repo_root,
          tmp,
          name,
          options,
          kill_iter=0,
          kill_rank=0,
          nproc=1,
          timeout=300):
    script = osp.join(tmp, 'train.py')
    if not osp.isfile(script):
        with open(script, 'w') as f:
            f.write(TRAIN)
    work_dir = osp.join(tmp, name)
    os.makedirs(work_dir, exist_ok=True)
    args = [
        CONFIG, work_dir,
        json.dumps(options),
        str(kill_iter),
        str(kill_rank)
    ]
    if nproc > 1:
        cmd = [
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={nproc}', '--master_addr=127.0.0.1',
            f'--master_port={free_port()}', script, *args, 'pytorch'
        ]
    else:
        cmd = [sys.executable, script, *args]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        cmd,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env)
    result.finished_at = time.time()
    return work_dir, result


def final_state(work_dir):
    return load(
        osp.join(work_dir, f'iter_{MAX_ITERS}.pth'), map_location='cpu')


def tensors(tree, prefix=''):
    """Every tensor in a nested checkpoint entry, by path."""
    if isinstance(tree, torch.Tensor):
        return {prefix: tree}
    items = tree.items() if isinstance(
        tree, dict) else (enumerate(tree) if isinstance(tree,
                                                        (list, tuple)) else [])
    found = {}
    for key, value in items:
        found.update(tensors(value, f'{prefix}/{key}'))
    return found


def differing(a, b):
    """Paths of the weights and optimizer tensors that differ bit-wise."""
    ta = tensors({'state_dict': a['state_dict'], 'optimizer': a['optimizer']})
    tb = tensors({'state_dict': b['state_dict'], 'optimizer': b['optimizer']})
    assert ta.keys() == tb.keys() and len(ta) > 100
    return [k for k in ta if not torch.equal(ta[k], tb[k])]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('context_cues'))


@pytest.mark.smoke
def test_state_round_trips_every_generator():
    state = get_random_state()
    expected = (random.random(), np.random.rand(3), np.random.randn(),
                torch.rand(3))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    set_random_state(state)
    drawn = (random.random(), np.random.rand(3), np.random.randn(),
             torch.rand(3))
    assert drawn[0] == expected[0] and drawn[2] == expected[2]
    assert np.array_equal(drawn[1], expected[1])
    assert torch.equal(drawn[3], expected[3])


@pytest.mark.slow
@pytest.mark.stack
def test_sigkill_then_resume_is_bit_identical(repo_root, data_root, tmp_path):
    options = overrides(data_root)
    straight, result = train(repo_root, tmp_path, 'straight', options)
    assert result.returncode == 0, output_tail(result)

    killed, result = train(
        repo_root, tmp_path, 'killed', options, kill_iter=KILLED_AT)
    assert result.returncode == -signal.SIGKILL, output_tail(result)
    assert not osp.exists(osp.join(killed, f'iter_{MAX_ITERS}.pth'))
    checkpoint = osp.join(killed, f'iter_{SAVED_AT}.pth')
    assert len(load(checkpoint)['random_state']) == 1

    resume = dict(options, resume=True, load_from=checkpoint)
    resumed, result = train(repo_root, tmp_path, 'resumed', resume)
    assert result.returncode == 0, output_tail(result)
    assert 'Advance dataloader 4 steps' in result.stdout + result.stderr
    assert differing(final_state(straight), final_state(resumed)) == []

    # The same resume without the hook diverges: the test can fail.
    unhooked, result = train(repo_root, tmp_path, 'unhooked',
                             dict(resume, custom_hooks=[]))
    assert result.returncode == 0, output_tail(result)
    diverged = differing(final_state(straight), final_state(unhooked))
    print(f'without the hook {len(diverged)} tensors differ')
    assert len(diverged) > 50


def malformed_states():
    good = get_random_state()
    short_keys = dict(
        good, python=dict(good['python'], keys=good['python']['keys'][:10]))
    bad_torch = dict(good, torch=torch.zeros(3, dtype=torch.uint8))
    return {
        'a string': 'random',
        'python keys cut short': [short_keys],
        'a torch state of 3 bytes': [bad_torch],
        'not dicts': [1, 2]
    }


@pytest.mark.smoke
@pytest.mark.parametrize('case', sorted(malformed_states()))
def test_malformed_state_is_found_and_the_current_one_kept(case):
    before = get_random_state()
    problem = _unusable(malformed_states()[case])
    assert problem, case
    after = get_random_state()
    assert torch.equal(before['torch'], after['torch'])
    assert torch.equal(before['python']['keys'], after['python']['keys'])
    assert _unusable([get_random_state()]) is None


def train_in_process(repo_root, work_dir, options):
    """The same training as :func:`train` in this process; returns what the
    Runner logged, as messages."""
    cfg = Config.fromfile(osp.join(repo_root, CONFIG))
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    runner = Runner.from_cfg(cfg)
    logged = []
    handler = logging.Handler()
    handler.emit = lambda record: logged.append(record.getMessage())
    runner.logger.addHandler(handler)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(handler)
    return logged


@pytest.fixture(scope='module')
def two_iterations(repo_root, data_root, tmp_path_factory):
    """One run of two iterations and its options, shared by the resumes."""
    options = overrides(
        data_root, **{
            'train_cfg.max_iters': 2,
            'param_scheduler.0.end': 2
        })
    work_dir = str(tmp_path_factory.mktemp('two_iterations'))
    train_in_process(repo_root, work_dir, options)
    return work_dir, options


@pytest.mark.slow
@pytest.mark.parametrize(
    'state, warning',
    [(None, 'holds no random state'),
     ('random', 'malformed random state (expected a list of dicts')])
def test_checkpoint_without_a_usable_random_state_resumes_with_a_warning(
        repo_root, two_iterations, tmp_path, state, warning):
    first, options = two_iterations
    checkpoint = load(osp.join(first, 'iter_2.pth'))
    del checkpoint['random_state']
    if state is not None:
        checkpoint['random_state'] = state
    stock = osp.join(tmp_path, 'stock.pth')
    torch.save(checkpoint, stock)
    resumed = str(tmp_path / 'resumed')
    logged = train_in_process(
        repo_root, resumed,
        dict(
            options,
            resume=True,
            load_from=stock,
            **{
                'train_cfg.max_iters': 3,
                'param_scheduler.0.end': 3
            }))
    assert any(warning in message for message in logged), logged
    assert osp.isfile(osp.join(resumed, 'iter_3.pth'))


@pytest.mark.slow
def test_two_gloo_processes_kill_a_rank_then_resume_exactly(
        repo_root, data_root, tmp_path):
    """Rank 1 is killed mid-training: rank 0 and the launcher exit non-zero
    within seconds, and a 2-process resume from the last checkpoint ends
    bit-identical to a 2-process run never interrupted (each rank restores
    its own state)."""
    options = overrides(data_root, **{'randomness.diff_rank_seed': True})
    straight, result = train(repo_root, tmp_path, 'straight', options, nproc=2)
    assert result.returncode == 0, output_tail(result)

    killed, result = train(
        repo_root,
        tmp_path,
        'killed',
        options,
        kill_iter=KILLED_AT,
        kill_rank=1,
        nproc=2)
    assert result.returncode != 0, output_tail(result)
    with open(osp.join(killed, 'killed_at')) as f:
        stopped_after = result.finished_at - float(f.read())
    print(f'the run stopped {stopped_after:.1f} s after rank 1 was killed')
    assert stopped_after < 60, stopped_after
    checkpoint = osp.join(killed, f'iter_{SAVED_AT}.pth')
    states = load(checkpoint)['random_state']
    assert len(states) == 2 and not torch.equal(states[0]['torch'],
                                                states[1]['torch'])

    resumed, result = train(
        repo_root,
        tmp_path,
        'resumed',
        dict(options, resume=True, load_from=checkpoint),
        nproc=2)
    assert result.returncode == 0, output_tail(result)
    assert differing(final_state(straight), final_state(resumed)) == []
