"""DetContextResNet / DetContextResNeXt: MMDetection's backbones with
context blocks between bottlenecks (ISA Table 7, SR Table IX), and the
mechanism they share with MMPretrain's ContextResNet."""
import copy
import os.path as osp
import re

import pytest
import torch
import yaml
from mmengine.config import Config

from mmctx.deployment import randomise_
from mmctx.models.backbones import DetContextResNet, context_stages
from mmctx.models.layers._options import RECORD
from mmctx.testing import repo_root_of

REPO_ROOT = repo_root_of(__file__)
DETECTION_FOLDERS = ('nonlocal', 'isanet', 'srnet')
PAPER_TABLES = ('ISA Table 7', 'SR Table IX')
ISA_BN = dict(type='ISABlock', reduction=2, norm_cfg=dict(type='BN'))


def paper_row_configs():
    """Config paths of the metafile entries whose Paper Row is a row of ISA
    Table 7 or SR Table IX."""
    configs = []
    for folder in DETECTION_FOLDERS:
        path = osp.join(REPO_ROOT, 'configs', folder, 'metafile.yaml')
        with open(path) as f:
            models = yaml.safe_load(f)['Models']
        for model in models:
            rows = model.get('Metadata', {}).get('Paper Row', [])
            rows = [rows] if isinstance(rows, str) else rows
            if any(row.startswith(PAPER_TABLES) for row in rows):
                configs.append(model['Config'])
    return sorted(configs)


def distinct_backbones():
    """One backbone config per distinct backbone of the paper rows (the
    Mask R-CNN, Cascade and Panoptic FPN rows of one block share one)."""
    backbones = {}
    for config in paper_row_configs():
        backbone = Config.fromfile(osp.join(REPO_ROOT, config)).model.backbone
        backbones.setdefault(repr(backbone.to_dict()), (config, backbone))
    return list(backbones.values())


BACKBONES = distinct_backbones()


def build_backbone(cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = copy.deepcopy(cfg)
    cfg.init_cfg = None
    return MODELS.build(cfg)


def stock_of(cfg):
    """The stock mmdet backbone config the row changes."""
    stock = copy.deepcopy(cfg)
    stock.type = stock.type.replace('mmctx.DetContext', '')
    del stock.context_cfg, stock.context_after
    return stock


def context_blocks(backbone):
    return [(name, m) for name, m in backbone.named_modules()
            if re.fullmatch(r'context\d+',
                            name.rsplit('.', 1)[-1])]


@pytest.mark.parametrize(
    'config,cfg', BACKBONES, ids=[c for c, _ in BACKBONES])
def test_paper_row_backbone_has_one_block_between_the_last_two_bottlenecks(
        config, cfg):
    model = randomise_(build_backbone(cfg))
    model.eval()  # mmdet's ResNet.train returns None
    (stage_index, ) = [i for i, a in enumerate(model.context_after) if a]
    stage_name = model.res_layers[stage_index]
    stage = getattr(model, stage_name)
    last = model.stage_blocks[stage_index] - 1
    (name, block), = context_blocks(model)
    assert name == f'{stage_name}.context{last - 1}'
    assert type(block).__name__ == cfg.context_cfg.type
    assert list(stage._modules)[-3:] == [
        str(last - 1), f'context{last - 1}',
        str(last)
    ]

    seen = {}

    def keep(key):

        def hook(module, inputs, output):
            seen[key] = (inputs[0], output)

        return hook

    getattr(stage, str(last - 1)).register_forward_hook(keep('before'))
    block.register_forward_hook(keep('block'))
    getattr(stage, str(last)).register_forward_hook(keep('last'))
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 96))
    assert seen['block'][0] is seen['before'][1]
    assert seen['last'][0] is seen['block'][1]
    # the randomised block acts, so the wiring above is what the output saw
    assert not torch.allclose(seen['block'][1], seen['block'][0])


@pytest.mark.parametrize(
    'config,cfg', BACKBONES, ids=[c for c, _ in BACKBONES])
def test_paper_row_backbone_is_the_stock_one_at_init(config, cfg):
    stock = randomise_(build_backbone(stock_of(cfg)))
    stock.eval()
    model = build_backbone(cfg)
    model.init_weights()
    loaded = model.load_state_dict(stock.state_dict(), strict=False)
    assert not loaded.unexpected_keys
    (name, block), = context_blocks(model)
    # all the block's keys but its record of options, which a state dict
    # saved without it does not need
    assert loaded.missing_keys == [
        f'{name}.{key}' for key in block.state_dict()
        if not key.endswith(RECORD)
    ]
    model.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for ours, theirs in zip(model(x), stock(x)):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@pytest.mark.parametrize(
    'config,cfg', BACKBONES, ids=[c for c, _ in BACKBONES])
def test_gradients_reach_the_block_under_the_stock_settings(config, cfg):
    """``frozen_stages=1`` and ``norm_eval=True`` as the stock bases: the
    block's zeroed last layer gets a gradient (so it learns), the frozen
    stem and res-2 get none."""
    assert (cfg.frozen_stages, cfg.norm_eval) == (1, True)
    model = build_backbone(cfg)
    model.init_weights()
    model.train()
    sum(out.sum() for out in model(torch.randn(1, 3, 64, 96))).backward()
    (_, block), = context_blocks(model)
    grads = [p.grad for p in block.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in model.layer1.parameters())
    assert all(p.grad is None for p in model.conv1.parameters())


def test_with_cp_checkpoints_each_block_in_training(monkeypatch):
    calls = []
    checkpointed = context_stages.checkpointed

    def counting(module, function, *args):
        calls.append(type(module).__name__)
        return checkpointed(module, function, *args)

    monkeypatch.setattr(context_stages, 'checkpointed', counting)
    model = DetContextResNet(
        depth=18,
        with_cp=True,
        context_cfg=ISA_BN,
        context_after=((), (0, ), (0, ), ()))
    model.train()
    model(torch.randn(1, 3, 64, 64))
    assert calls == ['ISABlock', 'ISABlock']
    model.eval()
    model(torch.randn(1, 3, 64, 64))
    assert len(calls) == 2


def test_a_checkpointed_stage_equals_the_plain_one():
    """Same outputs, gradients and BatchNorm statistics (updated once), in
    float64, with randomised weights and statistics."""
    results = []
    image = torch.randn(2, 8, 12, 12, dtype=torch.float64)
    for with_cp in (False, True):
        torch.manual_seed(0)
        convs = torch.nn.Sequential(
            torch.nn.Conv2d(8, 8, 1), torch.nn.Conv2d(8, 8, 1))
        stage = context_stages.ContextStage(
            convs, (0, 1), dict(ISA_BN, down_factor=4), with_cp=with_cp)
        stage = randomise_(stage).double().train()
        x = image.clone().requires_grad_()
        out = stage(x)
        out.square().sum().backward()
        results.append(
            (out, x.grad, {n: p.grad
                           for n, p in stage.named_parameters()},
             stage.state_dict()))
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)


def test_blocks_of_a_frozen_stage_are_frozen():
    model = DetContextResNet(
        depth=18,
        frozen_stages=2,
        context_cfg=ISA_BN,
        context_after=((), (0, ), (0, ), ()))
    model.train()
    frozen, trained = model.layer2.context0, model.layer3.context0
    assert not frozen.training and trained.training
    assert not any(p.requires_grad for p in frozen.parameters())
    assert all(p.requires_grad for p in trained.parameters())


def test_plugins_still_go_inside_the_bottlenecks():
    plugin = dict(
        cfg=dict(type='ContextBlock', ratio=1. / 16),
        stages=(False, False, False, True),
        position='after_conv3')
    model = DetContextResNet(
        depth=50, plugins=[plugin], context_cfg=dict(type='NonLocal2d'))
    assert [name for name, _ in context_blocks(model)] == ['layer3.context4']
    assert all(
        hasattr(block, 'context_block') for block in model.layer4.children())


def test_no_block_anywhere_is_the_host_backbone():
    from mmdet.models.backbones import ResNet
    model = DetContextResNet(
        depth=50, context_cfg=ISA_BN, context_after=((), ) * 4)
    assert list(model.state_dict()) == list(ResNet(50).state_dict())


@pytest.mark.parametrize('kwargs,match', [
    (dict(context_after=((), (), (6, ), ())), r'context_after .* \(3, 4, '
     r'6, 3\).*\(6,\)'),
    (dict(context_after=((), (), (4, ))), 'each of the 4 stages'),
    (dict(context_after=((), (), 4, ())), 'context_after'),
    (dict(context_after=((), (), (True, ), ())), 'context_after'),
    (dict(context_cfg='ISABlock'), 'context_cfg must be a block config.*'
     "'ISABlock'"),
])
def test_bad_arguments_name_them(kwargs, match):
    kwargs = dict(dict(context_cfg=ISA_BN), **kwargs)
    with pytest.raises(ValueError, match=match):
        DetContextResNet(depth=50, **kwargs)
