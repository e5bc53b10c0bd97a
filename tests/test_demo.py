"""`make demo`: its three configs differ only in the decode head, and
``tools/demo.py --quick`` trains, tests and reports all three."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmctx  # noqa: F401
from mmctx.models.decode_heads import ISAHead, SRHead

DEMO_CONFIGS = {
    'fcn': 'configs/demo/fcn_r18w16-d8_1xb8-1k_context-cues-128x128.py',
    'sr': 'configs/demo/srnet_r18w16-d8_1xb8-1k_context-cues-128x128.py',
    'isa': 'configs/demo/isanet_r18w16-d8_1xb8-1k_context-cues-128x128.py',
}


@pytest.fixture(scope='module')
def configs(repo_root):
    return {
        k: Config.fromfile(osp.join(repo_root, v))
        for k, v in DEMO_CONFIGS.items()
    }


def test_demo_lists_the_configs():
    from mmctx.demo import METHODS
    assert {k: f'configs/{v[1]}' for k, v in METHODS.items()} == DEMO_CONFIGS


def test_configs_differ_only_in_the_decode_head(configs):
    fcn = configs['fcn'].to_dict()
    for method in ('sr', 'isa'):
        other = configs[method].to_dict()
        assert other['model'].pop('decode_head') != fcn['model']['decode_head']
        assert other['model'] == {
            k: v
            for k, v in fcn['model'].items() if k != 'decode_head'
        }
        for key in ('train_dataloader', 'test_dataloader', 'optim_wrapper',
                    'param_scheduler', 'train_cfg', 'randomness'):
            assert other[key] == fcn[key], key
    assert configs['fcn'].model.pretrained is None
    assert configs['fcn'].train_cfg.max_iters == 1000
    assert configs['fcn'].param_scheduler[-1].end == 1000


@pytest.mark.parametrize('method, head_type', [('sr', SRHead),
                                               ('isa', ISAHead)])
def test_configs_build_and_run(configs, method, head_type):
    init_default_scope('mmseg')
    model = MODELS.build(configs[method].model).eval()
    assert type(model.decode_head) is head_type
    with torch.no_grad():
        logits = model._forward(torch.randn(2, 3, 128, 128))
    assert logits.shape == (2, 4, 16, 16)
    assert torch.isfinite(logits).all()


@pytest.mark.e2e
def test_quick_demo_writes_the_report(repo_root, tmp_path):
    work_dir = tmp_path / 'demo'
    result = subprocess.run([
        sys.executable, 'tools/demo.py', '--quick', '--work-dir',
        str(work_dir), '--data-root',
        str(tmp_path / 'data')
    ],
                            cwd=repo_root,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]

    report = (work_dir / 'report.md').read_text()
    rows = [
        line for line in report.splitlines()
        if line.startswith(('| FCN |', '| SR |', '| ISA |'))
    ]
    assert len(rows) == 3, report
    data = json.loads((work_dir / 'report.json').read_text())
    assert [r['method'] for r in data['results']] == ['fcn', 'sr', 'isa']
    classes = data['classes']
    assert classes == ['background', 'ring', 'striped_warm', 'striped_cold']
    for entry in data['results']:
        assert entry['iters'] == 40
        assert (entry['batch_size'], entry['seed'], entry['image_size'],
                entry['head_input']) == (8, 0, 128, '16x16')
        assert 0 <= entry['mIoU'] <= 100
        assert set(entry['iou']) == set(classes)
        assert entry['head_params'] > 0 and entry['head_macs'] > 0
        assert f'{entry["mIoU"]:.2f}' in report
    for picture in ('predictions.png', 'iou.png'):
        assert (work_dir / picture).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        assert f']({picture})' in report
    assert (work_dir / 'fcn' / 'iter_40.pth').is_file()
    assert 'report.md' in result.stdout


@pytest.mark.parametrize('argv, message', [
    (['--iters', '0'], '--iters: must be a positive int, got 0'),
    (['--threads', '-1'], '--threads: must be a positive int, got -1'),
    (['--num-show', '0'], '--num-show: must be a positive int, got 0'),
    (['--methods', 'pspnet'], "invalid choice: 'pspnet'"),
    (['--work-dir', __file__], 'is a file, not a folder'),
])
def test_bad_arguments_are_named(run_tool, capsys, argv, message):
    assert run_tool('demo', *argv) == 2
    assert message in capsys.readouterr().err
