"""The SR/ISA plugins learn under the stock detection backbone settings.

mmdet's Mask R-CNN / Cascade / Panoptic FPN bases train the ResNet with
``norm_eval=True`` (every BatchNorm of the backbone, plugins included, stays
in eval mode) and ``frozen_stages=1``. A plugin must still get gradients in
every parameter and, if it has norm layers, they must update.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from mmctx.testing import repo_root_of

pytestmark = pytest.mark.stack  # the heads and plugins run on every stack

REPO_ROOT = repo_root_of(__file__)
CONFIGS = [
    'srnet/mask-rcnn_r50-sr-c5_fpn_1x_coco.py',
    'isanet/mask-rcnn_r50-isa-c5_fpn_1x_coco.py',
    'isanet/mask-rcnn_r50-isa-c4_fpn_1x_coco.py',
]
# A 128x128 image gives 4x4 (stage 4) and 8x8 (stage 3) maps. With ISA's
# default 8x8 windows each long-range group would hold a single real
# position, whose attention weight is 1 whatever the query and key (no
# gradient there, correctly); 2x2 windows give both steps 4 positions.
SMALL_MAP_ARGS = {'ISABlock': dict(down_factor=(2, 2)), 'SRBlock': {}}
PLUGIN_TYPES = ('SRBlock', 'ISABlock')


def build_backbone(config, **plugin_overrides):
    """The config's ResNet (no pretrained weights), optionally with changed
    plugin arguments. Weights are PyTorch's defaults, not ``init_weights()``:
    mmdet's ``zero_init_residual`` zeroes every norm3, which would feed the
    after-conv3 plugins with zeros, unlike a pretrained backbone."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    backbone_cfg = cfg.model.backbone
    backbone_cfg.init_cfg = None
    plugin_cfg = backbone_cfg.plugins[0].cfg
    plugin_cfg.update(SMALL_MAP_ARGS[plugin_cfg.type], **plugin_overrides)
    return MODELS.build(backbone_cfg)


def plugin_blocks(backbone):
    return {
        name: module
        for name, module in backbone.named_modules()
        if type(module).__name__ in PLUGIN_TYPES
    }


def plugin_parameters(backbone):
    return {
        f'{name}.{param_name}': param
        for name, block in plugin_blocks(backbone).items()
        for param_name, param in block.named_parameters()
    }


@torch.no_grad()
def is_identity(block):
    x = torch.randn(1, block.in_channels, 5, 7)
    return torch.equal(block(x), x)


def train_steps(backbone, steps=2, lr=0.01):
    """SGD steps on a squared-output loss. The first step moves the plugins'
    zero-initialised output layers; from the second on every parameter gets
    a gradient. The gradients of the last step are left in ``.grad``."""
    torch.manual_seed(0)
    images = torch.randn(1, 3, 128, 128)
    trainable = [p for p in backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=lr)
    backbone.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = sum(out.pow(2).mean() for out in backbone(images))
        assert torch.isfinite(loss)
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize('config', CONFIGS)
def test_plugins_learn_under_stock_backbone_settings(config):
    backbone = build_backbone(config)
    assert backbone.norm_eval is True and backbone.frozen_stages == 1
    params = plugin_parameters(backbone)
    assert params and all(p.requires_grad for p in params.values())
    blocks = plugin_blocks(backbone).values()
    assert all(is_identity(b) for b in blocks)
    frozen_stem = backbone.conv1.weight.detach().clone()

    train_steps(backbone)

    no_gradient = [
        n for n, p in params.items() if p.grad is None or not p.grad.any()
    ]
    assert no_gradient == []
    assert not any(is_identity(b) for b in blocks)
    # the stock settings were in force: stem frozen, backbone BN in eval
    assert torch.equal(backbone.conv1.weight, frozen_stem)
    assert not backbone.layer4[0].bn1.training
    norms = [
        m for block in plugin_blocks(backbone).values()
        for m in block.modules() if isinstance(m, _BatchNorm)
    ]
    assert norms == [], 'BatchNorm in a plugin is frozen by norm_eval=True'


@pytest.mark.parametrize('config', CONFIGS[:2])
def test_plugin_group_norm_learns(config):
    backbone = build_backbone(
        config, norm_cfg=dict(type='GN', num_groups=32, requires_grad=True))
    norms = {
        f'{name}.{sub}': m
        for name, block in plugin_blocks(backbone).items()
        for sub, m in block.named_modules()
        if isinstance(m, torch.nn.GroupNorm)
    }
    assert norms

    train_steps(backbone, steps=2)

    for name, norm in norms.items():
        assert norm.training, name
        assert norm.weight.grad.any() and norm.bias.grad.any(), name


def test_plugin_batchnorm_stays_frozen_under_norm_eval():
    """Why the blocks default to no norm: a BN inside a plugin keeps its
    initial statistics (mean 0, var 1) under the stock ``norm_eval=True``."""
    backbone = build_backbone(CONFIGS[1], norm_cfg=dict(type='BN'))
    norms = [
        m for block in plugin_blocks(backbone).values()
        for m in block.modules() if isinstance(m, _BatchNorm)
    ]
    assert norms

    train_steps(backbone, steps=1)

    for norm in norms:
        assert not norm.training
        assert torch.equal(norm.running_mean,
                           torch.zeros_like(norm.running_mean))
        assert torch.equal(norm.running_var, torch.ones_like(norm.running_var))


@pytest.mark.parametrize('config', CONFIGS[:2])
def test_a_with_cp_backbone_checkpoints_its_plugins(config):
    """mmdet's bottlenecks run their plugins inside their checkpoint: a
    backbone with ``with_cp=True`` keeps nothing of a stage-4 plugin for the
    backward, with the gradients it has without checkpointing."""
    from mmctx.deployment import randomise_
    plain = randomise_(build_backbone(config, zero_init=False)).double()
    checkpointed = build_backbone(config, zero_init=False).double()
    checkpointed.load_state_dict(plain.state_dict())
    for module in checkpointed.modules():
        if hasattr(module, 'with_cp') and \
                type(module).__name__ not in PLUGIN_TYPES:
            module.with_cp = True  # what the config's with_cp=True sets
    torch.manual_seed(0)
    images = torch.randn(1, 3, 128, 128, dtype=torch.float64)
    grads = []
    for backbone in (plain, checkpointed):
        backbone.train()
        backbone.zero_grad()
        sum(out.pow(2).mean() for out in backbone(images)).backward()
        grads.append(
            {n: p.grad
             for n, p in plugin_parameters(backbone).items()})
    assert grads[0].keys() == grads[1].keys()
    for name, grad in grads[0].items():
        assert grad.abs().sum() > 0, name
        torch.testing.assert_close(grads[1][name], grad, rtol=0, atol=0)

    block = checkpointed.layer4[-1]
    x = torch.randn(
        1,
        block.conv1.in_channels,
        2,
        2,
        dtype=torch.float64,
        requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t) or t, lambda t: t):
        block(x)
    # the checkpoint's input and the ReLU's output after it
    assert sum(t.numel() for t in saved) <= 2 * x.numel()
