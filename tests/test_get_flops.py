"""tools/get_flops.py: mmseg's command line; the fused and the explicit
attention paths count the same."""
import os.path as osp

import pytest

CONFIG = 'configs/isa_r50_cityscapes.py'


def test_fused_and_explicit_attention_count_the_same(load_tool, repo_root):
    tool = load_tool('get_flops')
    config = osp.join(repo_root, CONFIG)
    fused = tool.main([config, '--shape', '64', '96'])
    explicit = tool.main([config, '--shape', '64', '96', '--cfg-options',
                          'model.decode_head.fused_attn=False'])
    assert fused['input_shape'] == (64, 96)
    assert fused['flops'] == explicit['flops'] > 0
    assert fused['params'] == explicit['params']


@pytest.mark.parametrize('shape', [['0', '4'], ['1', '2', '3']])
def test_bad_shape_is_named(load_tool, shape, capsys):
    with pytest.raises(SystemExit):
        load_tool('get_flops').parse_args(['x.py', '--shape', *shape])
    assert '--shape' in capsys.readouterr().err


def test_a_detection_config_is_refused_by_name(load_tool, repo_root):
    config = osp.join(repo_root, 'configs/srnet/mask-rcnn_r50-sr-c5_fpn_1x_coco.py')
    with pytest.raises(SystemExit) as exit_:
        load_tool('get_flops').main([config, '--shape', '64'])
    assert "builds 'MaskRCNN'" in str(exit_.value.code)
    assert 'segmentation configs' in str(exit_.value.code)
