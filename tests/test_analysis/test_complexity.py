"""FLOPs of a whole segmentor (mmctx.analysis.complexity) and
tools/get_flops.py, mmseg's command line: the fused and the explicit
attention paths count the same."""
import os.path as osp

import pytest
from mmengine.analysis.print_helper import _format_size

from mmctx.analysis.complexity import (load_segmentor_config,
                                       segmentor_complexity)

CONFIG = 'configs/isa_r50_cityscapes.py'
DETECTOR = 'configs/srnet/mask-rcnn_r50-sr-c5_fpn_1x_coco.py'


def test_fused_and_explicit_attention_count_the_same(repo_root):
    config = osp.join(repo_root, CONFIG)
    fused = segmentor_complexity(load_segmentor_config(config), (64, 96))
    explicit = segmentor_complexity(
        load_segmentor_config(config, {'model.decode_head.fused_attn': False}),
        (64, 96))
    assert fused['input_shape'] == (64, 96)
    assert fused['flops'] == explicit['flops'] > 0
    assert fused['params'] == explicit['params']


def test_the_tool_prints_mmsegs_report(run_tool, repo_root, capsys):
    config = osp.join(repo_root, CONFIG)
    expected = segmentor_complexity(load_segmentor_config(config), (64, 96))
    assert run_tool('get_flops', config, '--shape', '64', '96') == 0
    out = capsys.readouterr().out
    assert 'Input shape: (64, 96)' in out
    assert f"Flops: {_format_size(expected['flops'])}" in out
    assert f"Params: {_format_size(expected['params'])}" in out


@pytest.mark.parametrize('shape', [['0', '4'], ['1', '2', '3']])
def test_bad_shape_is_named(run_tool, shape, capsys):
    assert run_tool('get_flops', 'x.py', '--shape', *shape) == 2
    assert '--shape' in capsys.readouterr().err


def test_a_detection_config_is_refused_by_name(run_tool, repo_root):
    with pytest.raises(ValueError, match="builds 'MaskRCNN'"):
        load_segmentor_config(osp.join(repo_root, DETECTOR))
    status = run_tool('get_flops', osp.join(repo_root, DETECTOR), '--shape',
                      '64')
    assert "builds 'MaskRCNN'" in str(status)
    assert 'segmentation configs' in str(status)
