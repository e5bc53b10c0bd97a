import importlib.util
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = osp.join(osp.dirname(REPO_ROOT), 'shared', 'data')


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data():
    """``../shared/data`` beside the checkout (see its README)."""
    if not osp.isdir(SHARED_DATA):
        pytest.fail(f'shared data not found at {SHARED_DATA}: clone mmctx beside shared/')
    return SHARED_DATA


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool('benchmark')`` imports ``tools/benchmark.py`` (tools/ is
    not a package: the scripts run as ``python tools/x.py``)."""
    loaded = {}

    def load(name):
        if name not in loaded:
            path = osp.join(REPO_ROOT, 'tools', f'{name}.py')
            spec = importlib.util.spec_from_file_location(f'mmctx_tools_{name}', path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load
