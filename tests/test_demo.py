"""`make demo`: its three configs differ only in the decode head, and
``tools/demo.py --quick`` trains, tests and reports all three."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmctx  # noqa: F401
from mmctx.models.decode_heads import ISAHead, SRHead
from mmctx.testing import output_tail

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


@pytest.mark.slow
def test_quick_demo_writes_the_report(repo_root, tmp_path):
    """The whole demo, at 4 iterations instead of --quick's 40 (the report
    is the same; its numbers are not asserted)."""
    work_dir = tmp_path / 'demo'
    result = subprocess.run([
        sys.executable, 'tools/demo.py', '--quick', '--iters', '4',
        '--work-dir',
        str(work_dir), '--data-root',
        str(tmp_path / 'data')
    ],
                            cwd=repo_root,
                            capture_output=True,
                            text=True,
                            timeout=600)
    assert result.returncode == 0, \
        output_tail(result)

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
        assert entry['iters'] == 4
        assert (entry['batch_size'], entry['seed'], entry['image_size'],
                entry['head_input']) == (8, 0, 128, '16x16')
        assert 0 <= entry['mIoU'] <= 100
        assert set(entry['iou']) == set(classes)
        assert entry['head_params'] > 0 and entry['head_macs'] > 0
        assert f'{entry["mIoU"]:.2f}' in report
    for picture in ('predictions.png', 'iou.png'):
        assert (work_dir / picture).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        assert f']({picture})' in report
    assert (work_dir / 'fcn' / 'iter_4.pth').is_file()
    # the context heads' pictures, and ISA's attention measured on the cues
    fcn, sr, isa = data['results']
    assert 'context' not in fcn
    assert sr['context'] == dict(
        layer='decode_head.sr_block', pictures=['nodes.png', 'pca.png'])
    context = isa['context']
    assert context['layer'] == 'decode_head.isa_module.stages.0'
    assert context['images'] == 16
    assert 0 < context['attention_on_cues'] < 1
    assert 0.01 < context['cue_area'] < 0.1
    assert context['ratio'] == pytest.approx(context['attention_on_cues'] /
                                             context['cue_area'])
    assert f'({context["ratio"]:.2f} times their share)' in report
    for method, entry in (('sr', sr), ('isa', isa)):
        for picture in entry['context']['pictures']:
            path = work_dir / method / picture
            assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
            assert f']({method}/{picture})' in report
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


def test_cue_attention_weighs_each_cell_by_its_cue_pixels():
    from mmctx.demo import cue_attention
    cues = np.zeros((8, 8), bool)
    cues[0, 0] = True  # a quarter of cell (0, 0) at 4x4 cells of 2x2 px
    cues[2:4, 2:4] = True  # all of cell (1, 1)
    attention = torch.zeros(4, 4, dtype=torch.float64)
    attention[0, 0], attention[1, 1], attention[3, 3] = 0.4, 0.1, 0.5
    on_cues, area = cue_attention(attention, cues)
    assert on_cues == pytest.approx(0.4 * 0.25 + 0.1)
    assert area == 5 / 64


def test_striped_centre_lies_deepest_inside_a_striped_disc():
    from mmctx.datasets.context_cues import STRIPES_WARM
    from mmctx.demo import striped_centre
    label = np.zeros((20, 20), np.uint8)
    label[2:5, 2:5] = STRIPES_WARM  # small
    label[8:17, 6:15] = STRIPES_WARM  # large: centre (12, 10)
    assert striped_centre(label) == (12, 10)
    assert striped_centre(np.zeros((4, 4), np.uint8)) is None
