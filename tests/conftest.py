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
