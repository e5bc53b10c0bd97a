"""The plugin cost (mmctx.analysis.plugin_cost, tools/plugin_cost.py) and
the COCO sample helpers (mmctx.testing, .dev_scripts/overfit_det.py)."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmctx.analysis.plugin_cost import (DETECTION_PREFIXES, find_configs,
                                        format_table, plugin_cost)
from mmctx.testing import (repo_root_of, sample_cfg_options,
                           write_thing_annotations)

REPO_ROOT = repo_root_of(__file__)


def test_attention_flops_counted_for_fused_and_explicit_paths():
    from mmctx.analysis import count_flops
    from mmctx.models.layers.isa import ISABlock
    torch.manual_seed(0)
    fused = ISABlock(64, reduction=2, down_factor=(4, 4), fused_attn=True)
    explicit = ISABlock(64, reduction=2, down_factor=(4, 4), fused_attn=False)
    explicit.load_state_dict(fused.state_dict())
    # 16x16 map, 4x4 windows: 16 groups of 16 positions in each step
    # (no padding); per step and unit Q K^T and A V cost
    # 16 groups * 16 * 16 * (key 16 + value 32) MACs.
    attention = 2 * 16 * 16 * 16 * (16 + 32)
    image_flops = {}
    for name, block in (('fused', fused), ('explicit', explicit)):
        image_flops[name] = count_flops(block, torch.randn(1, 64, 16, 16))
    convs = sum(m.in_channels * m.out_channels * 16 * 16
                for m in fused.modules() if isinstance(m, torch.nn.Conv2d))
    assert image_flops['fused'] == image_flops['explicit'] == convs + attention


def test_find_configs_lists_detection_configs_only():
    configs = find_configs([osp.join(REPO_ROOT, 'configs', 'isanet')])
    names = [osp.basename(c) for c in configs]
    assert len(names) == 17
    assert all(n.startswith(DETECTION_PREFIXES) for n in names)
    with pytest.raises(FileNotFoundError, match='no config file or folder'):
        find_configs(['configs/does-not-exist'])


def test_plugin_cost_is_the_backbones_difference(run_tool, capsys):
    """An SR plugin at stage 4 adds its block's parameters, and the tool
    prints the same figures."""
    from mmctx import SRBlock
    config = osp.join(REPO_ROOT, 'configs', 'srnet',
                      'mask-rcnn_r50-sr-c5_fpn_1x_coco.py')
    row = plugin_cost(config, (64, 96), {})
    plugins = Config.fromfile(config).model.backbone.plugins
    (plugin, ) = plugins
    blocks = 3  # ResNet-50 stage 4
    block_cfg = {k: v for k, v in plugin.cfg.items() if k != 'type'}
    per_block = sum(p.numel() for p in SRBlock(2048, **block_cfg).parameters())
    assert row['params'] == blocks * per_block
    assert 0 < row['flops'] < row['backbone_flops']
    assert run_tool('plugin_cost', config, '--shape', '64', '96') == 0
    assert format_table([row], (64, 96)) in capsys.readouterr().out
    assert run_tool('plugin_cost', 'configs/does-not-exist') == 2
    assert 'no config file or folder' in capsys.readouterr().err


def test_a_segmentation_config_is_named():
    """Before: a row of zeros (or a KeyError from mmdet's registry)."""
    config = osp.join(REPO_ROOT, 'configs', 'isa_r50_cityscapes.py')
    with pytest.raises(
            ValueError,
            match=r'isa_r50_cityscapes.py is not an MMDetection config '
            r"\(default_scope='mmseg'\)"):
        plugin_cost(config, (64, 96), {})


def test_context_block_cost_is_one_block():
    """A paper row's single block: the stock backbone is the one without
    it, and the row names where the block is."""
    from mmcv.cnn import NonLocal2d
    config = osp.join(REPO_ROOT, 'configs', 'nonlocal',
                      'mask-rcnn_r50-nl1-c4_fpn_1x_coco.py')
    row = plugin_cost(config, (64, 96), {})
    assert row['params'] == sum(p.numel()
                                for p in NonLocal2d(1024).parameters())
    assert row['plugins'] == 'NonLocal2d() after bottleneck 5/6 @ stage 3'
    assert 0 < row['flops'] < row['backbone_flops']


def test_thing_annotations_keep_80_instance_categories(tmp_path, shared_data):
    data_dir = osp.join(shared_data, 'coco_panoptic_sample')
    out = write_thing_annotations(data_dir, str(tmp_path / 'inst.json'))
    coco = json.load(open(out))
    assert len(coco['categories']) == 80
    assert {c['name'] for c in coco['categories']} >= {'person', 'horse'}
    # 43 of the 50 segments are things (README of the sample)
    assert len(coco['annotations']) == 43
    assert len(coco['images']) == 2


def test_sample_cfg_options_point_every_split_at_the_sample(shared_data):
    data_dir = osp.join(shared_data, 'coco_panoptic_sample')
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'srnet',
                 'panoptic-fpn_r50-sr-c5_fpn_ms-3x_coco.py'))
    options = sample_cfg_options(cfg, data_dir, short_side=160)
    # the ms-3x RandomResize range and the test Resize, scaled by 160 / 800
    assert options['train_dataloader.dataset.pipeline.2.scale'] == [(267, 128),
                                                                    (267, 160)]
    assert options['test_dataloader.dataset.pipeline.1.scale'] == (267, 160)
    assert options['test_evaluator.seg_prefix'].endswith(
        'coco_panoptic_sample/panoptic_examples/')
    # PQ keeps the stock fusion threshold
    assert 'model.test_cfg.rcnn.score_thr' not in options
    cfg.merge_from_dict(options)
    assert osp.isfile(
        osp.join(cfg.test_dataloader.dataset.data_root,
                 cfg.test_dataloader.dataset.ann_file))
    with pytest.raises(ValueError, match='instance_ann_file'):
        sample_cfg_options(
            Config.fromfile(
                osp.join(REPO_ROOT, 'configs', 'srnet',
                         'mask-rcnn_r50-sr-c5_fpn_1x_coco.py')), data_dir)
