"""mmctx.ContextHead: both layouts equal the heads they generalise (mmseg's
FCNHead, mmctx's SRHead and ISAHead) on the same weights, and bad
arguments are refused by name."""
import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmctx  # noqa: F401
from mmctx.deployment import randomise_
from mmctx.models.decode_heads import ContextHead

pytestmark = pytest.mark.stack

IN_CHANNELS, CHANNELS, NUM_CLASSES = 12, 16, 5


def build(**kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        in_channels=IN_CHANNELS,
        channels=CHANNELS,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN'),
        dropout_ratio=0.0)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def randomize(module):
    return randomise_(module, seed=1).eval()


def same_weights(source, target, rename=lambda key: key):
    state = {rename(k): v for k, v in source.state_dict().items()}
    assert set(state) == set(target.state_dict())
    target.load_state_dict(state)
    return target.eval()


def features(head, x):
    with torch.no_grad():
        return head._forward_feature([x]).double()


@pytest.mark.parametrize('concat_input', [False, True])
def test_without_a_module_it_is_mmseg_fcnhead(concat_input):
    head = randomize(
        build(type='mmctx.ContextHead', concat_input=concat_input))
    fcn = same_weights(
        head, build(type='FCNHead', num_convs=2, concat_input=concat_input))
    x = torch.randn(2, IN_CHANNELS, 7, 9)
    torch.testing.assert_close(head([x]), fcn([x]), rtol=0, atol=0)


@pytest.mark.parametrize('concat_input', [False, True])
def test_with_an_sr_block_it_is_srhead(concat_input):
    sr_cfg = dict(num_nodes=4, squeeze='ghp', reasoning='gcn')
    head = randomize(
        build(
            type='mmctx.ContextHead',
            concat_input=concat_input,
            context_cfg=dict(type='SRBlock', **sr_cfg)))
    sr_head = same_weights(
        head,
        build(type='mmctx.SRHead', concat_input=concat_input, sr_cfg=sr_cfg),
        lambda key: key.replace('context.', 'sr_block.'))
    x = torch.randn(2, IN_CHANNELS, 7, 9)
    torch.testing.assert_close(head([x]), sr_head([x]), rtol=0, atol=0)


def test_one_conv_with_concat_fusion_is_isahead():
    """ISA's layout: conv3x3 -> fuse(cat(y, context(y))) -> cls. With the
    interlaced attention as the context it is mmctx's ISAHead (padded
    size: 7 x 9 with down factor 4)."""
    attention = dict(
        type='InterlacedSparseAttention', key_channels=8, down_factor=(4, 4))
    head = randomize(
        build(
            type='mmctx.ContextHead',
            num_convs=1,
            concat_input=False,
            fusion='concat',
            context_cfg=attention))

    def rename(key):
        return (key.replace('convs.0.', 'in_conv.').replace(
            'context.',
            'isa_module.stages.0.').replace('fuse.', 'isa_module.fuse.'))

    isa_head = same_weights(
        head, build(type='mmctx.ISAHead', isa_channels=8, down_factor=(4, 4)),
        rename)
    x = torch.randn(2, IN_CHANNELS, 7, 9)
    torch.testing.assert_close(head([x]), isa_head([x]), rtol=0, atol=0)


def test_the_module_is_on_the_path():
    head = randomize(
        build(
            type='mmctx.ContextHead',
            concat_input=False,
            context_cfg=dict(type='NonLocal2d', reduction=2)))
    x = torch.randn(1, IN_CHANNELS, 6, 6)
    with_module = features(head, x)
    head.context.forward = lambda t: t
    assert not torch.allclose(with_module, features(head, x))


#: Every context block (mmctx.registry.CONTEXT_BLOCKS) and mmcv's non-local
#: block, with the options that fit 32 channels.
CONTEXT_CFGS = [
    dict(type='NonLocal2d', reduction=2),
    dict(type='SRBlock', num_nodes=4),
    dict(type='SRGate', num_nodes=4),
    dict(type='ISABlock', down_factor=4),
    dict(type='DownsampledSelfAttention', key_channels=8),
    dict(type='SEBlock', ratio=4),
    dict(type='DoubleAttentionBlock'),
    dict(type='CGNLBlock', groups=2),
    dict(type='RecurrentCrissCrossAttention'),
    dict(type='EncodingBlock', num_codes=4),
    dict(type='PyramidNonLocal', key_pool_scales=(1, 2)),
    dict(type='EMAUnit', num_bases=4),
    dict(type='PyramidBlock', kind='ppm'),
    dict(type='DualAttention'),
]


def test_the_table_covers_every_registered_block():
    from mmctx.registry import CONTEXT_BLOCKS
    assert set(CONTEXT_BLOCKS) <= {cfg['type'] for cfg in CONTEXT_CFGS}


@pytest.mark.parametrize(
    'context_cfg', CONTEXT_CFGS, ids=lambda cfg: cfg['type'])
def test_every_context_block_runs_in_the_head(context_cfg):
    head = randomize(
        build(
            type='mmctx.ContextHead',
            channels=32,
            concat_input=False,
            context_cfg=context_cfg))
    x = torch.randn(2, IN_CHANNELS, 8, 8)
    out = features(head, x)
    assert out.shape == (2, 32, 8, 8) and torch.isfinite(out).all()
    head.context.forward = lambda t: t
    assert not torch.allclose(out, features(head, x))


def test_registered_in_mmctx_scope():
    head = build(type='mmctx.ContextHead')
    assert type(head) is ContextHead
    assert isinstance(head.context, torch.nn.Identity)


def test_sync_bn_reverts():
    head = build(
        type='mmctx.ContextHead',
        norm_cfg=dict(type='SyncBN'),
        context_cfg=dict(
            type='EMAUnit', num_bases=4, norm_cfg=dict(type='SyncBN')))
    head = revert_sync_batchnorm(head)
    assert not any(
        isinstance(m, torch.nn.SyncBatchNorm) for m in head.modules())


@pytest.mark.parametrize(
    'kwargs, error, words', [
        (dict(num_convs=0), ValueError, 'num_convs must be 1 or 2, got 0'),
        (dict(num_convs=3), ValueError, 'num_convs must be 1 or 2, got 3'),
        (dict(fusion='sum'), ValueError, 'fusion must be one of'),
        (dict(context_cfg='NonLocal2d'), TypeError, "got 'NonLocal2d'"),
        (dict(context_cfg=dict(reduction=2)), TypeError, 'with a type'),
        (dict(context_cfg=dict(type='NonLocal2d', in_channels=8)), ValueError,
         'in_channels=8'),
        (dict(channels='16'), ValueError, 'channels must be a positive int'),
        (dict(context_cfg=dict(type='mmctx.SEBlock')), KeyError,
         "type='mmctx.SEBlock': the blocks live in mmengine's root registry"
         ".*write type='SEBlock'"),
        (dict(num_convs=1.5), ValueError, 'num_convs must be 1 or 2, got 1.5'),
        (dict(num_convs=2.0), ValueError, 'num_convs must be 1 or 2, got 2.0'),
        (dict(norm_cfg='BN'), TypeError,
         "norm_cfg must be None or a dict with a type, .* but got 'BN'"),
        (dict(act_cfg='ReLU'), TypeError,
         "act_cfg must be None or a dict with a type, .* but got 'ReLU'"),
        (dict(
            context_cfg=dict(
                type='DownsampledSelfAttention',
                key_channels=4,
                out_channels=4)), ValueError,
         "with fusion='none' .* out_channels=4, but the head has channels=16"),
    ],
    ids=str)
def test_bad_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        build(type='mmctx.ContextHead', **kwargs)


def test_a_module_that_changes_the_width_without_fusion_is_named():
    """A module whose output width the config does not state: the head
    names it at the first forward (before: a conv's channel error)."""
    head = build(type='mmctx.ContextHead')
    head.context = torch.nn.Conv2d(CHANNELS, 4, 1)
    with pytest.raises(
            ValueError,
            match=r"with fusion='none' .* but Conv2d returned 4 channels for "
            rf"the head's channels={CHANNELS}"):
        head([torch.zeros(1, IN_CHANNELS, 6, 6)])
