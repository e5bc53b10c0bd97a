"""The classification configs of SR paper Table X (ImageNet) and ISA paper
Table 11 (CUB-200-2011): each loads through its ``mmpretrain::`` base, states
only its row, and builds the paper's model (parameters and FLOPs against
Table X)."""
import copy
import functools
import os.path as osp
import re

import pytest
import torch
import yaml

from mmctx.testing import mmpretrain_missing  # noqa: E402

if mmpretrain_missing():
    pytest.skip(mmpretrain_missing(), allow_module_level=True)

from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmpretrain.registry import MODELS  # noqa: E402

import mmctx  # noqa: F401,E402
from mmctx.analysis.complexity import classifier_complexity  # noqa: E402
from mmctx.deployment import randomise_  # noqa: E402
from mmctx.testing import repo_root_of

pytestmark = pytest.mark.stack  # the legacy stack has torchvision

REPO_ROOT = repo_root_of(__file__)
SCHEDULE = '8xb32-warmup-coslr_in1k'
# SR paper Table X: top-1, parameters (M) and GFLOPs at 224x224
TABLE_X = {
    f'resnet50_{SCHEDULE}': ('ResNet-r50', 77.5, 25.56, 4.122),
    f'seresnet50_{SCHEDULE}': ('SENet-r50', 77.8, 28.09, 4.130),
    f'srnet50_{SCHEDULE}': ('SRNet-r50', 78.1, 25.64, 4.127),
    f'resnet101_{SCHEDULE}': ('ResNet-r101', 78.7, 44.55, 7.849),
    f'seresnet101_{SCHEDULE}': ('SENet-r101', 79.1, 49.33, 7.863),
    f'srnet101_{SCHEDULE}': ('SRNet-r101', 79.3, 44.70, 7.858),
}
# ISA paper Table 11: top-1 on the CUB-200-2011 validation set
TABLE_11 = {
    'resnet50_8xb8_cub': ('ResNet-50', 84.37),
    'resnet50-cgnl1x_8xb8_cub': ('+ 1x CGNL (Our impl.)', 85.69),
    'resnet50-cgnl5x_8xb8_cub': ('+ 5x CGNL (Our impl.)', 86.31),
    'resnet50-isa1x_8xb8_cub': ('+ 1x Ours', 86.28),
    'resnet50-isa5x_8xb8_cub': ('+ 5x Ours', 86.54),
}
CONFIGS = {
    **{name: f'srnet/{name}.py'
       for name in TABLE_X},
    **{name: f'isanet/{name}.py'
       for name in TABLE_11}
}


@functools.lru_cache(maxsize=None)
def _load(name):
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', CONFIGS[name]))


def load(name):
    return copy.deepcopy(_load(name))


@functools.lru_cache(maxsize=None)
def build(name):
    cfg = load(name).model
    cfg.backbone.init_cfg = None  # nothing downloaded
    init_default_scope('mmpretrain')
    return MODELS.build(cfg).eval()


def without_backbone(cfg):
    cfg = copy.deepcopy(cfg.to_dict())
    cfg['model'].pop('backbone')
    cfg.pop('custom_imports', None)
    return cfg


@functools.lru_cache(maxsize=None)
def complexity(name):
    return classifier_complexity(load(name), (224, 224))


@pytest.mark.parametrize('name', TABLE_X)
def test_table_x_parameters(name):
    """Within 0.1%: the paper rounds to 0.01M (0.04% of 25M); a missing
    gate would be 0.3% off. SRNet-r101 counts 44.706M (paper: 44.70M)."""
    params = complexity(name)['params'] / 1e6
    assert params == pytest.approx(TABLE_X[name][2], rel=1e-3)


@pytest.mark.parametrize('depth', [50, 101])
def test_table_x_flops(depth):
    """Within 1% of the paper's GFLOPs (multiply-adds, as the paper's
    ResNet-50 4.122 is), and in the paper's order: ResNet < SRNet <
    SENet."""
    flops = {}
    for model in ('resnet', 'srnet', 'seresnet'):
        name = f'{model}{depth}_{SCHEDULE}'
        flops[model] = complexity(name)['flops'] / 1e9
        assert flops[model] == pytest.approx(TABLE_X[name][3], rel=1e-2)
    assert flops['resnet'] < flops['srnet'] < flops['seresnet']


def test_get_flops_counts_a_classifier_with_its_head(run_tool, capsys):
    name = f'srnet50_{SCHEDULE}'
    assert run_tool('get_flops', osp.join(REPO_ROOT, 'configs',
                                          CONFIGS[name])) == 0
    out = capsys.readouterr().out
    assert 'Input shape: (224, 224)' in out
    assert 'Params: 25.64M' in out


@pytest.mark.parametrize('name',
                         [n for n in TABLE_X if n != f'resnet50_{SCHEDULE}'])
def test_table_x_rows_differ_from_the_baseline_only_in_the_backbone(name):
    baseline = load(f'resnet50_{SCHEDULE}')
    cfg = load(name)
    assert without_backbone(cfg) == without_backbone(baseline)
    depth = 101 if '101' in name else 50
    assert cfg.model.backbone.depth == depth
    expected = {
        'resnet': 'ResNet',
        'seresnet': 'SEResNet',
        'srnet': 'mmctx.SRResNet'
    }[re.match('[a-z]+', name)[0]]
    assert cfg.model.backbone.type == expected


def test_table_x_schedule_is_the_papers():
    """SGD, batch 8 x 32 = 256, weight decay 1e-4, 224 crops, cosine with
    linear warm-up."""
    cfg = load(f'srnet50_{SCHEDULE}')
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.1, 0.9, 1e-4)
    assert cfg.train_dataloader.batch_size * 8 == 256
    crops = [
        t.get('scale') for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'RandomResizedCrop'
    ]
    assert crops == [224]
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end, cosine.type, cosine.begin,
            cosine.end) == ('LinearLR', 5, 'CosineAnnealingLR', 5,
                            cfg.train_cfg.max_epochs)
    assert cfg.model.head.num_classes == 1000
    assert 'mmctx' in cfg.custom_imports.imports


def context_blocks(model):
    return [(name, type(m).__name__) for name, m in model.named_modules()
            if type(m).__name__ in ('ISABlock', 'CGNLBlock')]


@pytest.mark.parametrize('block', ['isa', 'cgnl'])
@pytest.mark.parametrize('count', ['1x', '5x'])
def test_table_11_blocks_sit_where_the_row_says(block, count):
    name = f'resnet50-{block}{count}_8xb8_cub'
    kind = {'isa': 'ISABlock', 'cgnl': 'CGNLBlock'}[block]
    places = {
        '1x': ['layer3.context4'],
        '5x': [
            'layer2.context0', 'layer2.context2', 'layer3.context0',
            'layer3.context2', 'layer3.context4'
        ]
    }[count]
    assert context_blocks(build(name).backbone) == [(p, kind) for p in places]
    baseline = load('resnet50_8xb8_cub')
    cfg = load(name)
    assert without_backbone(cfg) == without_backbone(baseline)
    backbone = copy.deepcopy(cfg.model.backbone)
    for key in ('context_cfg', 'context_after'):
        backbone.pop(key)
    assert backbone.pop('type') == 'mmctx.ContextResNet'
    assert baseline.model.backbone.pop('type') == 'ResNet'
    assert backbone == baseline.model.backbone
    assert cfg.model.head.num_classes == 200
    if block == 'cgnl':
        assert cfg.model.backbone.context_cfg == dict(
            type='CGNLBlock', groups=8)


def test_table_11_starts_from_an_imagenet_1k_resnet50():
    init = load('resnet50-isa5x_8xb8_cub').model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.prefix == 'backbone'
    assert 'resnet50_8xb32_in1k' in init.checkpoint


def test_table_11_rows_start_as_the_resnet():
    """The blocks are the identity at init: a row's model computes the
    baseline's logits with the baseline's weights."""
    baseline = randomise_(copy.deepcopy(build('resnet50_8xb8_cub')))
    row = copy.deepcopy(build('resnet50-isa5x_8xb8_cub'))
    row.init_weights()
    row.load_state_dict(baseline.state_dict(), strict=False)
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(row(x), baseline(x), rtol=0, atol=0)


def metafile_models(algo):
    with open(osp.join(REPO_ROOT, 'configs', algo, 'metafile.yaml')) as f:
        return {
            m['Name']: m
            for m in yaml.safe_load(f)['Models']
            if isinstance(m['Results'], dict)
            and m['Results']['Task'] == 'Image Classification'
        }


def test_metafiles_name_each_row_with_the_papers_numbers():
    models = {**metafile_models('srnet'), **metafile_models('isanet')}
    assert set(models) == set(CONFIGS)
    for name, model in models.items():
        assert model['Config'] == f'configs/{CONFIGS[name]}'
        assert model['Weights'] == 'not trained yet'
        (metric, top1), = model['Results']['Metrics'].items()
        if name in TABLE_X:
            row, paper_top1, params, _ = TABLE_X[name]
            assert model['Metadata']['Paper Row'] == f'SR Table X: {row}'
            assert model['Metadata']['Parameters (M, paper)'] == params
            assert model['Results']['Dataset'] == 'ImageNet-1k'
        else:
            row, paper_top1 = TABLE_11[name]
            assert model['Metadata']['Paper Row'] == f'ISA Table 11: {row}'
            assert model['Results']['Dataset'] == 'CUB-200-2011'
        assert metric.startswith('Top 1 Accuracy (paper')
        assert top1 == paper_top1
    for algo, table in (('srnet', TABLE_X), ('isanet', TABLE_11)):
        with open(osp.join(REPO_ROOT, 'configs', algo, 'README.md')) as f:
            readme = f.read()
        assert '## Image classification' in readme
        assert all(f'{name}.py' in readme for name in table)
