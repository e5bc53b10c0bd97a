"""Every detection config under configs/ loads and differs from its stock
mmdet base only in the backbone's context blocks. The papers' rows
(``nl1``, ``isa1``, ``sr1``: one block between two bottlenecks of
``c4``/``c5``, built and checked in
tests/test_models/test_backbones/test_det_context_resnet.py) carry the
papers' numbers;
the mmdet-plugin variants (``c5``: every bottleneck of stage 4, ``c4``: of
stage 3, after conv3, nowhere else) build with their plugins in place."""
import ast
import os
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config
from mmengine.hub import get_config

from mmctx.testing import repo_root_of

REPO_ROOT = repo_root_of(__file__)
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')
DETECTION_PREFIXES = ('mask-rcnn', 'cascade-mask-rcnn', 'panoptic-fpn')
CONFIG_NAME = re.compile(
    r'^(?P<algo>mask-rcnn|cascade-mask-rcnn|panoptic-fpn)_'
    r'(?P<backbone>r(?P<depth>50|101)|x(?P<xdepth>101)-32x4d)'
    r'-(?P<plugin>sr|isa|nl)(?P<single>1)?-c(?P<stage>[45])_fpn_'
    r'(?P<schedule>1x|2x|ms-3x)'
    r'_coco\.py$')
PLUGINS = {  # name tag: (folder, registered type, _abbr_)
    'sr': ('srnet', 'SRBlock', 'sr_block'),
    'isa': ('isanet', 'ISABlock', 'isa_block'),
    'nl': ('nonlocal', 'NonLocal2d', 'nonlocal_block'),
}
MMDET_FOLDERS = {
    'mask-rcnn': 'mask_rcnn',
    'cascade-mask-rcnn': 'cascade_rcnn',
    'panoptic-fpn': 'panoptic_fpn',
}
STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
MMCTX_IMPORTS = dict(imports=['mmctx'], allow_failed_imports=False)


def detection_configs():
    found = []
    for folder in sorted(os.listdir(CONFIG_ROOT)):
        path = osp.join(CONFIG_ROOT, folder)
        if not osp.isdir(path) or folder == '_base_':
            continue
        found += [
            f'{folder}/{name}' for name in sorted(os.listdir(path))
            if name.endswith('.py') and name.startswith(DETECTION_PREFIXES)
        ]
    return found


CONFIGS = detection_configs()


def parse_name(config):
    match = CONFIG_NAME.match(osp.basename(config))
    assert match, f'{config} does not follow the naming scheme'
    return match.groupdict()


PLUGIN_CONFIGS = [c for c in CONFIGS if not parse_name(c)['single']]
# ISA Table 7 and SR Table IX, each row with its config: one block where the
# papers put it (tests/test_models/test_backbones/test_det_context_resnet.py)
PAPER_ROWS = {
    'ISA Table 7: + NL (1x)':
    'nonlocal/mask-rcnn_r50-nl1-c4_fpn_1x_coco.py',
    'ISA Table 7: + NL (2x)':
    'nonlocal/mask-rcnn_r50-nl1-c4_fpn_2x_coco.py',
    'ISA Table 7: + Ours (1x)':
    'isanet/mask-rcnn_r50-isa1-c4_fpn_1x_coco.py',
    'ISA Table 7: + Ours (2x)':
    'isanet/mask-rcnn_r50-isa1-c4_fpn_2x_coco.py',
    'SR Table IX: R-50 +NL':
    'nonlocal/mask-rcnn_r50-nl1-c4_fpn_1x_coco.py',
    'SR Table IX: R-50 +SR':
    'srnet/mask-rcnn_r50-sr1-c5_fpn_1x_coco.py',
    'SR Table IX: R-101 +NL':
    'nonlocal/mask-rcnn_r101-nl1-c4_fpn_1x_coco.py',
    'SR Table IX: R-101 +SR':
    'srnet/mask-rcnn_r101-sr1-c5_fpn_1x_coco.py',
    'SR Table IX: X-101 +SR (Mask-RCNN)':
    'srnet/mask-rcnn_x101-32x4d-sr1-c5_fpn_1x_coco.py',
    'SR Table IX: X-101 +SR (Cascaded-Mask-RCNN)':
    'srnet/cascade-mask-rcnn_x101-32x4d-sr1-c5_fpn_1x_coco.py',
    'SR Table IX: +NL ResNet-50 (panoptic)':
    'nonlocal/panoptic-fpn_r50-nl1-c4_fpn_1x_coco.py',
    'SR Table IX: +SR ResNet-50 (panoptic)':
    'srnet/panoptic-fpn_r50-sr1-c5_fpn_1x_coco.py',
    'SR Table IX: +NL ResNet-101 (panoptic)':
    'nonlocal/panoptic-fpn_r101-nl1-c4_fpn_1x_coco.py',
    'SR Table IX: +SR ResNet-101 (panoptic)':
    'srnet/panoptic-fpn_r101-sr1-c5_fpn_1x_coco.py',
}


def declared_base(path):
    """The ``_base_`` string a config file assigns."""
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '_base_':
            return ast.literal_eval(node.value)
    raise AssertionError(f'{path} has no _base_')


def delta_base(config):
    """The sibling a delta config inherits: R-101 from R-50, R-50 2x from
    1x; None for the others."""
    name = osp.basename(config)
    if '_r101-' in name:
        return './' + name.replace('_r101-', '_r50-')
    if '_r50-' in name and '_2x_' in name:
        return './' + name.replace('_2x_', '_1x_')
    return None


def without_scope(value):
    """Config contents without ``_scope_`` (added to inherited dicts)."""
    if isinstance(value, dict):
        return {
            k: without_scope(v)
            for k, v in value.items() if k != '_scope_'
        }
    if isinstance(value, (list, tuple)):
        return type(value)(without_scope(v) for v in value)
    return value


def test_expected_config_set_is_complete():
    expected = set()
    schedules = {
        'mask-rcnn': ('1x', '2x'),
        'cascade-mask-rcnn': ('1x', ),
        'panoptic-fpn': ('1x', 'ms-3x'),
    }
    for algo, scheds in schedules.items():
        for sched in scheds:
            for depth in ('r50', 'r101'):
                expected.add(f'srnet/{algo}_{depth}-sr-c5_fpn_{sched}_coco.py')
                expected.add(
                    f'isanet/{algo}_{depth}-isa-c5_fpn_{sched}_coco.py')
            expected.add(f'isanet/{algo}_r50-isa-c4_fpn_{sched}_coco.py')
    # the rows the papers compare with: mmcv's non-local block (ISA Table
    # 7, SR Table IX) and SR on ResNeXt-101 (SR Table IX)
    expected |= {
        'nonlocal/mask-rcnn_r50-nl-c4_fpn_1x_coco.py',
        'nonlocal/mask-rcnn_r50-nl-c4_fpn_2x_coco.py',
        'nonlocal/mask-rcnn_r101-nl-c5_fpn_1x_coco.py',
        'nonlocal/panoptic-fpn_r50-nl-c4_fpn_1x_coco.py',
        'nonlocal/panoptic-fpn_r101-nl-c5_fpn_1x_coco.py',
        'srnet/mask-rcnn_x101-32x4d-sr-c5_fpn_1x_coco.py',
        'srnet/cascade-mask-rcnn_x101-32x4d-sr-c5_fpn_1x_coco.py',
    }
    expected |= set(PAPER_ROWS.values())
    assert set(CONFIGS) == expected


def metafile_models():
    models = []
    for folder in sorted(set(c.split('/')[0] for c in CONFIGS)):
        with open(osp.join(CONFIG_ROOT, folder, 'metafile.yaml')) as f:
            models += yaml.safe_load(f)['Models']
    return [
        m for m in models
        if osp.basename(m['Config']).startswith(DETECTION_PREFIXES)
    ]


def test_each_paper_row_names_its_single_block_config():
    """Every row of ISA Table 7 and SR Table IX is found by its Paper Row,
    with the paper's numbers, in a config with the papers' placement; the
    plugin variants carry no paper number."""
    found = {}
    for model in metafile_models():
        rows = model['Metadata'].get('Paper Row', [])
        for row in [rows] if isinstance(rows, str) else rows:
            found[row] = model['Config'][len('configs/'):]
        single = parse_name(model['Config'])['single']
        assert bool(rows) == bool(single) == bool(model['Results']), model
        assert model['Config'][len('configs/'):] in CONFIGS
    assert found == PAPER_ROWS


@pytest.mark.parametrize('config', CONFIGS)
def test_config_changes_only_the_backbone_blocks(config):
    name = parse_name(config)
    folder = PLUGINS[name['plugin']][0]
    assert config.startswith(folder + '/')
    path = osp.join(CONFIG_ROOT, config)

    stock_base = (f"mmdet::{MMDET_FOLDERS[name['algo']]}/{name['algo']}_"
                  f"{name['backbone']}_fpn_{name['schedule']}_coco.py")
    # a stock config, or as mmdet's gcnet/: R-101 states its depth over the
    # R-50 config of the same method, 2x its schedule over 1x
    assert declared_base(path) in (stock_base, delta_base(config))
    ours = without_scope(Config.fromfile(path).to_dict())
    stock = without_scope(get_config(stock_base).to_dict())

    assert ours.pop('custom_imports') == MMCTX_IMPORTS
    # exact resume and a 10-minute distributed timeout (reliability.md)
    assert ours.pop('custom_hooks') == [dict(type='RandomStateHook')]
    assert stock.pop('custom_hooks', []) == []
    assert ours.pop('randomness') == dict(seed=0)
    assert ours['env_cfg'].pop('dist_cfg') == dict(
        stock['env_cfg'].pop('dist_cfg'), timeout=600)
    stage = int(name['stage']) - 2
    block_type = PLUGINS[name['plugin']][1]
    if name['single']:
        backbone = ours['model']['backbone']
        assert backbone.pop('type') == ('mmctx.DetContext' +
                                        stock['model']['backbone'].pop('type'))
        assert backbone.pop('context_cfg')['type'] == block_type
        context_after = backbone.pop('context_after')
        assert [len(a)
                for a in context_after] == [int(i == stage) for i in range(4)]
        assert ours == stock
        return
    plugins = ours['model']['backbone'].pop('plugins')
    assert ours == stock
    assert plugins == [
        dict(
            cfg=plugins[0]['cfg'],
            stages=tuple(i == stage for i in range(4)),
            position='after_conv3')
    ]
    assert plugins[0]['cfg']['type'] == block_type


@pytest.mark.parametrize('config', PLUGIN_CONFIGS)
def test_config_builds_with_plugins_in_place(config):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    name = parse_name(config)
    _, plugin_type, abbr = PLUGINS[name['plugin']]
    depth = int(name['depth'] or name['xdepth'])
    stage = int(name['stage']) - 2

    cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)

    backbone = model.backbone
    assert backbone.depth == depth
    expected = set()
    for index, layer_name in enumerate(backbone.res_layers):
        layer = getattr(backbone, layer_name)
        assert len(layer) == STAGE_BLOCKS[depth][index]
        for block_index, block in enumerate(layer):
            plugin_names = [
                getattr(block, f'after_conv{i}_plugin_names', [])
                for i in (1, 2, 3)
            ]
            if index != stage:
                assert plugin_names == [[], [], []]
                continue
            assert plugin_names == [[], [], [abbr]]
            plugin = getattr(block, abbr)
            assert plugin.in_channels == block.planes * block.expansion
            assert plugin.in_channels == 256 * 2**stage
            expected.add(f'backbone.{layer_name}.{block_index}.{abbr}')
    found = {
        module_name
        for module_name, module in model.named_modules()
        if type(module).__name__ == plugin_type
    }
    assert found == expected
