"""Where a test runs from."""
import os.path as osp


def repo_root_of(test_file: str) -> str:
    """The clone a test file belongs to: the closest folder above it that
    holds ``setup.py`` (so that moving a test between folders changes
    nothing)."""
    folder = osp.dirname(osp.abspath(test_file))
    while not osp.isfile(osp.join(folder, 'setup.py')):
        parent = osp.dirname(folder)
        if parent == folder:
            raise FileNotFoundError(f'no setup.py above {test_file}')
        folder = parent
    return folder
