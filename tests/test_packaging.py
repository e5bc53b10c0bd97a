"""The second way in: mmctx installed from its wheel into an existing
OpenMMLab environment, used from a folder outside the clone.

The wheel is built from the working tree and installed with ``--no-deps``
into a fresh virtual environment that sees the project's stack (torch,
mmcv, mmengine, mmseg, mmdet) through a path entry, but not the editable
mmctx of ``.venv``. From a project folder holding only ``data/`` (the
Cityscapes sample in Cityscapes' layout), the README's quick-start blocks
and the inference page's blocks run as written, except that ``mim
train``/``mim test`` get the ``--cfg-options`` that shrink the Cityscapes
setting to the one-image sample, and ``iter_40000`` becomes ``iter_2``.
"""
import os
import os.path as osp
import re
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from mmctx.testing import repo_root_of

pytestmark = pytest.mark.slow

TESTED = '<!-- tested: tests/test_packaging.py runs this block -->'

INFERENCE_DOC = osp.join(
    repo_root_of(__file__), 'docs', 'en', 'user_guides', 'inference.md')


def marked_blocks(path):
    """The code blocks of a Markdown file that follow the ``TESTED`` mark."""
    with open(path) as f:
        text = f.read()
    pattern = re.escape(TESTED) + r'\n```(\w+)\n(.*?)\n```'
    return [(lang, code) for lang, code in re.findall(pattern, text, re.S)]


def run(cmd, cwd, env=None, timeout=600):
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f'{cmd}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    return result


def test_wheel_ships_configs_tools_and_the_scope_hook(wheel, repo_root):
    names = set(zipfile.ZipFile(wheel).namelist())
    for config in ('srnet/srnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
                   'isanet/mask-rcnn_r50-isa-c5_fpn_1x_coco.py',
                   '_base_/default_runtime.py', 'sr_r50_cityscapes.py'):
        assert f'mmctx/.mim/configs/{config}' in names
    # the tools users run, not the developer's scripts
    tools = {n for n in names if n.startswith('mmctx/.mim/tools/')}
    assert tools == {
        f'mmctx/.mim/tools/{name}'
        for name in ('benchmark.py', 'convert_mmseg_isanet.py', 'demo.py',
                     'export_onnx.py', 'get_flops.py', 'plugin_cost.py',
                     'visualize_context.py')
    }
    assert 'mmctx/.mim/model-index.yml' in names
    assert {'mmctx-scope.pth', '_mmctx_scope.py'} <= names
    shipped = {n for n in names if n.startswith('mmctx/.mim/configs/')}
    in_repo = {
        'mmctx/.mim/' + osp.relpath(osp.join(root, f), repo_root)
        for root, _, files in os.walk(osp.join(repo_root, 'configs'))
        for f in files if not f.endswith('.pyc')
    }
    assert shipped == in_repo
    with open(osp.join(repo_root, 'model-index.yml')) as f:
        listed = sorted(
            line.split('- ')[1].strip() for line in f if line.startswith('- '))
    assert listed == sorted(n[len('mmctx/.mim/'):] for n in shipped
                            if n.endswith('/metafile.yaml'))


@pytest.fixture(scope='module')
def user_env(wheel, tmp_path_factory):
    """A fresh venv: the project's stack on its path, mmctx from the
    wheel, and ``mim`` as a command."""
    env_dir = tmp_path_factory.mktemp('user_env')
    run([sys.executable, '-m', 'venv', '--without-pip',
         str(env_dir)],
        cwd=env_dir)
    python = str(env_dir / 'bin' / 'python')
    site = run([
        python, '-c', 'import sysconfig; '
        'print(sysconfig.get_paths()["purelib"])'
    ],
               cwd=env_dir).stdout.strip()
    with open(osp.join(site, 'openmmlab_stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    run([
        sys.executable, '-m', 'pip', 'install', '--no-deps', '--target', site,
        str(wheel)
    ],
        cwd=env_dir)
    mim = env_dir / 'bin' / 'mim'
    mim.write_text(f'#!/bin/sh\nexec {python} -m mim "$@"\n')
    mim.chmod(0o755)
    return dict(
        os.environ,
        PATH=f'{env_dir / "bin"}{os.pathsep}{os.environ["PATH"]}',
        VIRTUAL_ENV=str(env_dir),
        OMP_NUM_THREADS='2')


@pytest.fixture(scope='module')
def project(shared_data, tmp_path_factory):
    """A user's folder, outside the clone: only ``data/cityscapes`` and
    ``data/coco``."""
    folder = tmp_path_factory.mktemp('my_project')
    os.makedirs(folder / 'data')
    os.symlink(
        osp.join(shared_data, 'cityscapes_sample'),
        folder / 'data' / 'cityscapes')
    os.makedirs(folder / 'data' / 'coco')
    os.symlink(
        osp.join(shared_data, 'coco_panoptic_sample', 'input_images'),
        folder / 'data' / 'coco' / 'val2017')
    return folder


def test_mmctx_comes_from_the_wheel(user_env, project):
    out = run([
        'python', '-c', 'import mmctx, mmseg; '
        'print(mmctx.__file__); print(mmseg.__file__)'
    ],
              cwd=project,
              env=user_env).stdout.split()
    assert '/user_env' in out[0] and '.mim' not in out[0]
    assert out[1].startswith(sysconfig.get_paths()['purelib'])


def sample_cli(seg_sample, project, train):
    options = seg_sample.overrides(str(project / 'data' / 'cityscapes'), 2)
    if not train:
        options = {
            k: v
            for k, v in options.items()
            if not k.startswith(('train', 'param_scheduler',
                                 'default_hooks.checkpoint'))
        }
    return ' --cfg-options ' + ' '.join(f"'{o}'"
                                        for o in seg_sample.as_cli(options))


def on_the_sample(code, seg_sample, project):
    code = code.replace('iter_40000', 'iter_2').replace('\\\n', ' ')
    lines = []
    for line in code.splitlines():
        if line.startswith('mim train mmseg'):
            line += sample_cli(seg_sample, project, train=True)
        elif line.startswith('mim test mmseg'):
            line += sample_cli(seg_sample, project, train=False)
        lines.append(line)
    return '\n'.join(lines) + '\n'


@pytest.fixture(scope='module')
def quick_start(repo_root, user_env, project, seg_sample):
    """The README's quick start, run in the user's folder."""
    blocks = marked_blocks(osp.join(repo_root, 'README.md'))
    assert [lang for lang, _ in blocks] == ['bash', 'python']
    script = on_the_sample(blocks[0][1], seg_sample, project)
    result = run(['bash', '-euc', script],
                 cwd=project,
                 env=user_env,
                 timeout=900)
    return blocks, result


def test_user_config_inherits_a_shipped_config_and_trains(
        quick_start, project):
    _, result = quick_start
    log = result.stdout + result.stderr
    assert osp.isfile(project / 'work_dirs' / 'my_srnet' / 'iter_2.pth')
    # the user's change is in the saved config, over the shipped one
    saved = (project / 'work_dirs' / 'my_srnet' / 'my_srnet.py').read_text()
    assert "type='mmctx.SRHead'" in saved
    assert 'mIoU' in log  # mim test evaluated the checkpoint


def test_mmseg_inferencer_block(quick_start, user_env, project):
    blocks, _ = quick_start
    code = blocks[1][1].replace('iter_40000', 'iter_2')
    run(['python', '-c', code], cwd=project, env=user_env)
    assert os.listdir(project / 'outputs' / 'vis')
    assert os.listdir(project / 'outputs' / 'pred')


def test_det_inferencer_blocks(repo_root, user_env, project):
    """The inference guide: DetInferencer on a Panoptic FPN config of ours,
    without weights (the palette trap handled as the page says)."""
    blocks = marked_blocks(INFERENCE_DOC)
    det = [code for lang, code in blocks if 'DetInferencer' in code]
    assert det, f'no tested DetInferencer block in {INFERENCE_DOC}'
    for code in det:
        run(['python', '-c', code], cwd=project, env=user_env)
    assert os.listdir(project / 'outputs_det' / 'vis')


def test_show_dir_block(quick_start, repo_root, user_env, project, seg_sample):
    """The inference guide: every test image drawn, without a training
    set (the sample's overrides point no split at ``train``)."""
    blocks = marked_blocks(INFERENCE_DOC)
    (code, ) = [code for lang, code in blocks if lang == 'bash']
    run(['bash', '-euc',
         on_the_sample(code, seg_sample, project)],
        cwd=project,
        env=user_env)
    drawn = os.listdir(project / 'vis' / 'vis_data' / 'vis_image')
    assert drawn == ['test_frankfurt_000000_000294_leftImg8bit.png_0.png']


def test_mim_run_get_flops(user_env, project):
    """``mim run mmctx get_flops`` finds the tool and the shipped config
    (that the fused attention is counted as the explicit one is owned by
    tests/test_analysis/test_complexity.py)."""
    out = run([
        'mim', 'run', 'mmctx', 'get_flops', 'mmctx::isa_r50_cityscapes.py',
        '--shape', '64', '128'
    ],
              cwd=project,
              env=user_env).stdout
    assert 'Input shape: (64, 128)' in out
    assert float(re.search(r'Flops: ([\d.]+)[KMGT]', out).group(1)) > 0
