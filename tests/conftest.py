import os
import os.path as osp
import runpy
import shutil
import subprocess
import sys
import types

import pytest
import torch

from mmctx.testing import repo_root_of

REPO_ROOT = repo_root_of(__file__)
SHARED_DATA = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n``), each worker takes its
    share of the cores, and so do the processes it starts: torch's default
    of one thread per core in every worker would oversubscribe them."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers > 1:
        threads = max(1, torch.get_num_threads() // workers)
        torch.set_num_threads(threads)
        os.environ.setdefault('OMP_NUM_THREADS', str(threads))


def pytest_addoption(parser):
    parser.addoption(
        '--data-root',
        default=SHARED_DATA,
        help='the real-data samples (Cityscapes, COCO, ...; default: '
        '../shared/data beside the clone); tests that need them skip, '
        'naming the path, where it is absent')


@pytest.fixture(scope='session')
def shared_data(request):
    """The real-data samples: ``--data-root``, by default ``../shared/data``
    beside the checkout (see its README). Skips the test where absent."""
    root = request.config.getoption('--data-root')
    if not osp.isdir(root):
        pytest.skip(f'needs the data samples at {root} (absent): clone '
                    'mmctx beside shared/ or pass --data-root')
    return root


NOT_SHIPPED = ('.git', '.venv', 'build', 'dist', 'work_dirs', 'data',
               '*.egg-info', '__pycache__', '.pytest_cache', '.dist_test')


@pytest.fixture(scope='session')
def wheel(tmp_path_factory):
    """The mmctx wheel, built from a copy of the working tree by this
    interpreter's pip (``--no-build-isolation``: its own setuptools)."""
    work = tmp_path_factory.mktemp('wheel')
    source = work / 'src'
    shutil.copytree(
        REPO_ROOT, source, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    result = subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-w',
        str(work),
        str(source)
    ],
                            cwd=work,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    (path, ) = work.glob('mmctx-*.whl')
    return path


@pytest.fixture
def run_tool(monkeypatch):
    """``run_tool('benchmark', *argv)`` runs ``tools/benchmark.py`` as
    ``python tools/benchmark.py argv...`` would, in this process (no new
    interpreter to start), and returns its exit status: 0, the
    ``sys.exit`` argument, or 2 for an argparse error. Output goes to
    ``capsys``; the torch thread count is restored after."""
    threads = torch.get_num_threads()

    def run(name, *argv):
        path = osp.join(REPO_ROOT, 'tools', f'{name}.py')
        monkeypatch.setattr(sys, 'argv', [path, *map(str, argv)])
        try:
            runpy.run_path(path, run_name='__main__')
        except SystemExit as exit:
            return exit.code
        return 0

    yield run
    torch.set_num_threads(threads)


def sample_overrides(data_root, max_iters):
    """``--cfg-options`` that shrink the paper's Cityscapes setting to the
    one-image sample on a CPU. Flat keys and plain values only, so the same
    dict is written on a command line by :func:`as_cli`."""
    options = {
        'model.pretrained': None,
        'model.backbone.norm_cfg.type': 'BN',
        'model.decode_head.norm_cfg.type': 'BN',
        'model.auxiliary_head.norm_cfg.type': 'BN',
        'model.data_preprocessor.size': (64, 128),
        'model.test_cfg.crop_size': (64, 128),
        'model.test_cfg.stride': (64, 128),
        'train_dataloader.batch_size': 1,
        # the sample holds one val frame
        'train_dataloader.dataset.data_prefix.img_path': 'leftImg8bit/val',
        'train_dataloader.dataset.data_prefix.seg_map_path': 'gtFine/val',
        'train_dataloader.dataset.pipeline.2.scale': (256, 128),
        'train_dataloader.dataset.pipeline.3.crop_size': (64, 128),
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters,
        'param_scheduler.0.end': max_iters,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.logger.interval': 1,
        'randomness.seed': 0,
    }
    for split in ('train', 'val', 'test'):
        options.update({
            f'{split}_dataloader.num_workers': 0,
            f'{split}_dataloader.persistent_workers': False,
            f'{split}_dataloader.dataset.data_root': data_root,
        })
        if split != 'train':
            options[f'{split}_dataloader.dataset.pipeline.1.scale'] = (256,
                                                                       128)
    return options


def as_cli(options):
    """The same overrides as ``--cfg-options`` arguments."""

    def fmt(value):
        if isinstance(value, tuple):
            return '(' + ','.join(map(str, value)) + ')'
        return str(value)

    return [f'{key}={fmt(value)}' for key, value in options.items()]


@pytest.fixture(scope='session')
def sfsegnets():
    """``tests/transcriptions/sfsegnets.py``: what the SR paper's public code
    computes, to compare with (``ChannelReason``, ``ModuleHead``,
    ``copy_block_weights``)."""
    import importlib.util
    path = osp.join(REPO_ROOT, 'tests', 'transcriptions', 'sfsegnets.py')
    spec = importlib.util.spec_from_file_location('sfsegnets', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def seg_sample():
    """``seg_sample.overrides(data_root, max_iters)``: the ``--cfg-options``
    that train mmseg's Cityscapes configs on the one-image sample;
    ``seg_sample.as_cli(options)``: the same on a command line."""
    return types.SimpleNamespace(overrides=sample_overrides, as_cli=as_cli)
