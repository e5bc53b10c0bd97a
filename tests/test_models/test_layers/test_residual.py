"""The pattern the residual blocks (SRBlock, ISABlock, DoubleAttentionBlock,
CGNLBlock) share (ResidualContextBlock): identity
at construction and after init_weights(), zero_init=False keeps the branch,
one input check."""
import pytest
import torch

from mmctx import ISABlock, SRBlock
from mmctx.deployment import randomise_
from mmctx.models.layers import CGNLBlock, DoubleAttentionBlock

BLOCKS = {
    'SRBlock': lambda **kw: SRBlock(16, num_nodes=4, **kw),
    'ISABlock': lambda **kw: ISABlock(16, down_factor=2, **kw),
    'DoubleAttentionBlock': lambda **kw: DoubleAttentionBlock(16, **kw),
    # its norm is CGNL's GroupNorm, one group per channel group
    'CGNLBlock': lambda norm_cfg=None, **kw: CGNLBlock(16, groups=2, **kw),
}


def test_the_table_covers_every_registered_residual_block():
    from mmctx.models.layers import ResidualContextBlock
    from mmctx.registry import CONTEXT_BLOCKS, PLUGIN_MODELS
    assert set(BLOCKS) == {
        name
        for name in CONTEXT_BLOCKS
        if issubclass(PLUGIN_MODELS.get(name), ResidualContextBlock)
    }


@pytest.mark.smoke
@pytest.mark.parametrize('name', BLOCKS)
@pytest.mark.parametrize(
    'norm_cfg', [None, dict(type='BN'),
                 dict(type='GN', num_groups=2)],
    ids=['none', 'BN', 'GN'])
def test_identity_at_init_and_after_init_weights(name, norm_cfg):
    x = torch.randn(2, 16, 6, 6)
    block = BLOCKS[name](norm_cfg=norm_cfg).eval()
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    randomise_(block)  # as if trained: init_weights must act again
    assert not torch.allclose(block(x), x)
    block.init_weights()
    torch.testing.assert_close(block.eval()(x), x, rtol=0, atol=0)


@pytest.mark.parametrize('name, library', [('SRBlock', 'mmdet'),
                                           ('SRBlock', 'mmseg'),
                                           ('ISABlock', 'mmdet')])
def test_identity_after_the_backbones_init_weights(name, library):
    """As ResNet plugins at stage 4: the backbone's ``init_cfg`` reaches the
    blocks' convs (mmdet: Kaiming on every Conv2d; mmseg: its ResNet
    default), then each block zeroes its branch again, so the backbone
    starts as it would without them (a width-8 ResNet-50, stage 4 at 256
    channels: the same code as the full width)."""
    from mmengine.registry import DefaultScope
    if library == 'mmdet':
        from mmdet.models.backbones import ResNet
        init_cfg = [
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]
    else:
        from mmseg.models.backbones import ResNetV1c as ResNet
        init_cfg = None
    with DefaultScope.overwrite_default_scope(library):
        backbone = ResNet(
            depth=50,
            base_channels=8,
            stem_channels=8,
            init_cfg=init_cfg,
            plugins=[
                dict(
                    cfg=dict(type=name),
                    stages=(False, False, False, True),
                    position='after_conv3')
            ])
    blocks = [m for m in backbone.modules() if type(m).__name__ == name]
    assert len(blocks) == 3 and all(b.in_channels == 256 for b in blocks)
    for block in blocks:  # as if trained, so that init_weights must act
        randomise_(block)
    first_conv = next(m for m in blocks[0].modules()
                      if isinstance(m, torch.nn.Conv2d)).weight.clone()
    backbone.init_weights()
    assert not torch.equal(
        next(m for m in blocks[0].modules()
             if isinstance(m, torch.nn.Conv2d)).weight, first_conv)
    x = torch.randn(1, 256, 5, 7)
    with torch.no_grad():
        for block in blocks:
            assert torch.equal(block.train()(x), x)


@pytest.mark.smoke
@pytest.mark.parametrize('name', BLOCKS)
def test_zero_init_false_keeps_the_branch(name):
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 6)
    block = BLOCKS[name](zero_init=False).eval()
    with torch.no_grad():
        assert (block(x) - x).abs().max() > 1e-3
        torch.testing.assert_close(block(x), x + block.residual(x))
    with pytest.raises(
            TypeError, match='zero_init must be True or False, '
            "but got 'no'"):
        BLOCKS[name](zero_init='no')


@pytest.mark.smoke
@pytest.mark.parametrize('name', BLOCKS)
def test_wrong_input_is_named(name):
    with pytest.raises(
            ValueError,
            match=rf'{name} expects input of shape \(N, in_channels=16, H, '
            r'W\), got \(2, 8, 6, 6\)'):
        BLOCKS[name]()(torch.zeros(2, 8, 6, 6))


@pytest.mark.smoke
@pytest.mark.parametrize('name', BLOCKS)
def test_an_empty_map_is_named_and_an_empty_batch_works(name):
    """A map with no row gave a ZeroDivisionError (ISA) or a conv error
    (SR); an empty batch crashed in a reshape (CGNL)."""
    block = BLOCKS[name]()
    with pytest.raises(
            ValueError,
            match=rf'{name} expects a map of at least 1x1 positions, got '
            r'input of shape \(1, 16, 0, 5\)'):
        block(torch.zeros(1, 16, 0, 5))
    assert block(torch.zeros(0, 16, 6, 7)).shape == (0, 16, 6, 7)


# every block's layer configs; a string used to fail in a bare mmcv assert
LAYER_CFGS = [(name, cfg) for name in BLOCKS
              for cfg in ('conv_cfg', 'norm_cfg', 'act_cfg')
              if not (name == 'CGNLBlock' and cfg != 'conv_cfg')
              and not (name == 'DoubleAttentionBlock' and cfg == 'act_cfg')]


@pytest.mark.smoke
@pytest.mark.parametrize('name, cfg', LAYER_CFGS, ids=str)
def test_a_layer_config_that_is_not_a_dict_is_named(name, cfg):
    build = BLOCKS[name]
    kwargs = {cfg: 'BN'}
    if name == 'CGNLBlock':
        build = lambda **kw: CGNLBlock(16, groups=2, **kw)  # noqa: E731
    with pytest.raises(
            TypeError,
            match=rf'^{cfg} must be None or a dict with a type, such as '
            rf"dict\(type='\w+'\), but got 'BN'$"):
        build(**kwargs)


@pytest.mark.smoke
def test_readme_pytorch_example(repo_root):
    """The README's plain-PyTorch block runs as written, and its comment
    holds: both blocks start as the identity."""
    mark = ('<!-- tested: tests/test_models/test_layers/test_residual.py runs '
            'this block -->')
    with open(f'{repo_root}/README.md') as f:
        block = f.read().split(mark)[1].split('```python\n')[1].split('```')[0]
    scope = {}
    exec(block, scope)
    assert scope['y'].shape == scope['x'].shape == (2, 512, 64, 64)
    torch.testing.assert_close(scope['y'], scope['x'], rtol=0, atol=0)
