"""Installing mmctx into a stack a user already has changes none of it, and
``import mmctx`` checks that stack (mmctx/stack.py).

Run on every stack of docs/en/advanced_guides/compatibility.md (``make test``
runs the ``stack`` tests on the legacy one too).
"""
import json
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement

from mmctx.stack import (DISTRIBUTIONS, SUPPORTED, UnsupportedStackError,
                         check_stack, check_version)
from mmctx.testing import output_tail, repo_root_of

REPO_ROOT = repo_root_of(__file__)
STACK = {dist for dists in DISTRIBUTIONS.values() for dist in dists}
# what a stack pins by itself: numpy 1 for mmcv 2.1, numpy 2 for OneDL;
# setuptools with pkg_resources for mmcv, openmim and mmengine's bases
PINNED_BY_THE_STACK = STACK | {'numpy', 'setuptools', 'torchvision'}


def environment_only():
    """This interpreter's environment without ``PYTHONPATH``: what pip
    sees of the stack (the other stacks get the clone on PYTHONPATH)."""
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1')
    env.pop('PYTHONPATH', None)
    return env


def pip(*args, check=True):
    result = subprocess.run([sys.executable, '-m', 'pip', *args],
                            capture_output=True,
                            text=True,
                            timeout=600,
                            env=environment_only())
    assert not check or result.returncode == 0, (output_tail(result))
    return result


def installed():
    """``{distribution: version}`` of this interpreter's environment."""
    return {
        p['name'].lower(): p['version']
        for p in json.loads(pip('list', '--format=json').stdout)
    }


def wheel_requirements(wheel):
    """The unconditional ``Requires-Dist`` names of the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        (name, ) = [
            n for n in archive.namelist() if n.endswith('.dist-info/METADATA')
        ]
        lines = archive.read(name).decode().splitlines()
    requirements = [
        Requirement(line.split(':', 1)[1]) for line in lines
        if line.startswith('Requires-Dist:')
    ]
    return {r.name.lower() for r in requirements if r.marker is None}


@pytest.mark.stack
@pytest.mark.slow
def test_wheel_requires_nothing_a_stack_pins(wheel):
    required = wheel_requirements(wheel)
    assert required and not required & PINNED_BY_THE_STACK, required


@pytest.mark.stack
@pytest.mark.slow
def test_pip_install_would_change_no_package(wheel, tmp_path):
    """pip's own plan for ``pip install <wheel>`` here: mmctx and nothing
    else (no torch, mmcv, numpy or setuptools upgrade)."""
    report = tmp_path / 'report.json'
    pip('install', '--dry-run', '--quiet', '--report', str(report), str(wheel))
    plan = {
        item['metadata']['name'].lower(): item['metadata']['version']
        for item in json.loads(report.read_text())['install']
    }
    assert set(plan) == {'mmctx'}, plan


def _mmctx_distribution_installed():
    return 'mmctx' in installed()


@pytest.mark.stack
@pytest.mark.slow
@pytest.mark.skipif(
    _mmctx_distribution_installed(),
    reason='mmctx is installed here (make\'s editable '
    'install); the dry run covers this environment')
def test_pip_install_changes_no_package(wheel):
    before = installed()
    pip('install', str(wheel))
    try:
        after = installed()
        assert after.pop('mmctx') == wheel.name.split('-')[1]
        assert after == before
    finally:
        pip('uninstall', '-y', 'mmctx')


@pytest.mark.smoke
def test_this_stack_is_supported():
    versions = check_stack()
    assert {'torch', 'mmengine', 'mmcv', 'mmseg'} <= set(versions)


@pytest.mark.smoke
@pytest.mark.parametrize('name, version', [('torch', '2.1.2+cu121'),
                                           ('torch', '2.15.0'),
                                           ('mmcv', '2.0.0rc4'),
                                           ('mmcv', '2.3.6'),
                                           ('mmengine', '0.10.12'),
                                           ('mmseg', '1.4.2'),
                                           ('mmdet', '3.5.1')])
def test_supported_versions_pass(name, version):
    check_version(name, version)


@pytest.mark.smoke
@pytest.mark.parametrize('name, version, supported',
                         [('torch', '2.0.1', '>=2.1.0'),
                          ('mmcv', '2.4.0', '>=2.0.0, <2.4.0'),
                          ('mmcv', '1.7.2', '>=2.0.0, <2.4.0'),
                          ('mmengine', '0.11.0', '>=0.10.0, <0.11.0'),
                          ('mmseg', '0.30.0', '>=1.0.0, <2.0.0'),
                          ('mmdet', '2.28.2', '>=3.0.0')])
def test_unsupported_version_is_named(name, version, supported):
    with pytest.raises(UnsupportedStackError) as error:
        check_version(name, version)
    message = str(error.value)
    assert f'{name}=={version} is installed' in message
    assert f'{name}{supported}' in message
    assert DISTRIBUTIONS[name][-1] in message


def run_python(code):
    return subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=dict(os.environ, PYTHONPATH=REPO_ROOT))


@pytest.mark.smoke
@pytest.mark.parametrize('setup, messages', [
    ('import mmcv; mmcv.__version__ = "2.5.0"',
     ['UnsupportedStackError', 'mmcv==2.5.0 is installed']),
    ('import sys; sys.modules["mmseg"] = None',
     ['mmctx needs mmseg>=1.0.0, <2.0.0', 'onedl-mmsegmentation']),
])
def test_import_names_an_unsupported_or_missing_package(setup, messages):
    result = run_python(f'{setup}; import mmctx')
    assert result.returncode != 0
    for message in messages:
        assert message in result.stderr


@pytest.mark.smoke
def test_mminstall_lists_the_supported_ranges():
    """requirements/mminstall.txt (``mim install``) names OpenMMLab's own
    distributions; their ranges lie inside :data:`SUPPORTED` (mmcv stops at
    2.2: later versions are the OneDL fork's)."""
    import_name = {dists[0]: name for name, dists in DISTRIBUTIONS.items()}
    with open(osp.join(REPO_ROOT, 'requirements', 'mminstall.txt')) as f:
        requirements = [
            Requirement(line.strip()) for line in f if line.strip()
        ]
    assert {import_name[r.name] for r in requirements} == \
        set(SUPPORTED) - {'torch'}
    for requirement in requirements:
        low, high = SUPPORTED[import_name[requirement.name]]
        bounds = {s.operator: s.version for s in requirement.specifier}
        assert bounds['>='] == low
        assert bounds['<'] == high or requirement.name == 'mmcv', requirement
    mmcv = [r for r in requirements if r.name == 'mmcv'][0]
    assert '2.1.0' in mmcv.specifier and '2.2.0' not in mmcv.specifier
