"""mmctx.SRHead: topology, option pass-through and mmseg head contracts."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmctx  # noqa: F401  (registers mmctx.SRHead)
from mmctx.models.decode_heads import SRHead
from mmctx.models.layers.sr import SRBlock

pytestmark = pytest.mark.stack  # the heads and plugins run on every stack

IN_CHANNELS, CHANNELS, NUM_CLASSES = 12, 16, 5


def build_head(sr_cfg=None, **kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='mmctx.SRHead',
        in_channels=IN_CHANNELS,
        channels=CHANNELS,
        num_classes=NUM_CLASSES,
        sr_cfg=dict(dict(num_nodes=4), **(sr_cfg or {})),
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def randomize(module):
    """Random weights everywhere (the SR branch is zero at init)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.2)
    return module.eval()


def test_registered_in_mmctx_scope_only():
    head = build_head()
    assert type(head) is SRHead
    with pytest.raises(KeyError):
        MODELS.build(
            dict(type='SRHead', in_channels=4, channels=4, num_classes=2))


def test_forward_is_the_nlhead_topology_with_the_sr_block():
    head = randomize(build_head())
    x = torch.randn(2, IN_CHANNELS, 7, 9)
    expected = head.convs[0](x)
    expected = head.sr_block(expected)
    expected = head.convs[1](expected)
    expected = head.conv_cat(torch.cat([x, expected], dim=1))
    feats = head._forward_feature([x])
    torch.testing.assert_close(feats, expected, rtol=0, atol=0)
    torch.testing.assert_close(head([x]), head.cls_seg(feats), rtol=0, atol=0)
    assert head([x]).shape == (2, NUM_CLASSES, 7, 9)
    # the block is on the path: without it the features change
    head.sr_block.forward = lambda t: t
    assert (head._forward_feature([x]) - feats).abs().max() > 1e-3


def test_block_is_built_on_head_channels_with_every_option():
    head = build_head(
        sr_cfg=dict(
            ratio=4,
            num_nodes=2,
            squeeze='gap',
            reasoning='attention',
            node_order='strided',
            ghp_scale='sum',
            ghp_projections=2,
            zero_init=False,
            norm_cfg=dict(type='GN', num_groups=4),
            act_cfg=None))
    block = head.sr_block
    assert isinstance(block, SRBlock)
    assert (block.in_channels, block.channels) == (CHANNELS, CHANNELS // 4)
    assert (block.num_nodes, block.squeeze, block.reasoning_mode,
            block.node_order, block.ghp_scale,
            block.zero_init) == (2, 'gap', 'attention', 'strided', 'sum',
                                 False)
    assert isinstance(block.out_proj.norm, torch.nn.GroupNorm)
    assert isinstance(block.reasoning.act, torch.nn.Identity)
    ghp = build_head(sr_cfg=dict(ghp_projections=2)).sr_block
    assert len(ghp.ghp_projs) == 2


def test_paper_defaults():
    block = build_head(
        sr_cfg=dict(num_nodes=16), in_channels=64, channels=64).sr_block
    assert (block.channels, block.num_nodes, block.squeeze,
            block.reasoning_mode, block.node_order) == (32, 16, 'ghp', 'gcn',
                                                        'contiguous')


def test_bad_arguments():
    with pytest.raises(TypeError, match='num_convs'):
        build_head(num_convs=1)
    with pytest.raises(ValueError, match='num_nodes'):
        build_head(sr_cfg=dict(num_nodes=3))
    with pytest.raises(ValueError, match='reasoning'):
        build_head(sr_cfg=dict(reasoning='graph'))


@pytest.mark.parametrize('kwargs, message', [
    (dict(channels=0), 'channels must be a positive int, but got 0'),
    (dict(sr_cfg=dict(ratio=3)), 'ratio=3 must divide channels=16'),
    (dict(sr_cfg=dict(ratio=2, num_nodes=3)),
     r'num_nodes=3 .*\(channels / ratio = 8\)'),
    (dict(sr_cfg=dict(ghp_projections=1.0)),
     r'ghp_projections must be one of \(1, 2\), but got 1.0'),
    (dict(dropout_ratio='0.1'),
     'dropout_ratio must be a number in \\[0, 1\\), '
     "but got '0.1'"),
])
def test_errors_name_the_head_argument(kwargs, message):
    if 'sr_cfg' in kwargs:
        kwargs['sr_cfg'] = dict(dict(num_nodes=4), **kwargs['sr_cfg'])
    """Checked before anything is built; named as the head's config writes
    them (the block calls ``channels`` in_channels)."""
    with pytest.raises(ValueError, match=message):
        build_head(**kwargs)


def test_empty_batch():
    block = SRBlock(16, num_nodes=4).eval()
    x = torch.randn(0, 16, 5, 6)
    assert block(x).shape == (0, 16, 5, 6)


def test_multi_level_inputs_and_align_corners():
    head = randomize(
        build_head(
            in_channels=[4, 8],
            in_index=[0, 1],
            input_transform='resize_concat',
            align_corners=True))
    inputs = [torch.randn(1, 4, 8, 10), torch.randn(1, 8, 4, 5)]
    out = head(inputs)
    assert out.shape == (1, NUM_CLASSES, 8, 10)
    assert head.in_channels == 12 and head.align_corners


def test_loss_and_predict_with_batch_size_one():
    head = build_head().train()
    feats = [torch.randn(1, IN_CHANNELS, 8, 8)]
    sample = SegDataSample(
        gt_sem_seg=PixelData(data=torch.randint(0, NUM_CLASSES, (1, 32, 32))))
    sample.set_metainfo(dict(img_shape=(32, 32), pad_shape=(32, 32)))
    losses = head.loss(feats, [sample], train_cfg=dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    assert head.sr_block.out_proj.conv.weight.grad.abs().sum() > 0
    head.eval()
    logits = head.predict(feats, [dict(img_shape=(32, 32))], test_cfg=dict())
    assert logits.shape == (1, NUM_CLASSES, 32, 32)


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(num_nodes=8), TypeError,
     r'SRHead takes the SR block options in sr_cfg: write '
     r'sr_cfg=dict\(num_nodes=8\) instead of num_nodes=...'),
    (dict(sr_norm_cfg=None), TypeError,
     r'write sr_cfg=dict\(norm_cfg=None\) instead of sr_norm_cfg'),
    (dict(sr_cfg=dict(nodes=8)), TypeError,
     r"sr_cfg: unknown SRBlock options \['nodes'\]"),
    (dict(sr_cfg='ghp'), TypeError, 'sr_cfg must be a dict of SRBlock '
     "options, but got 'ghp'"),
])
def test_sr_cfg_is_the_one_way_to_set_block_options(kwargs, error, message):
    """The options of the former flat form are refused by name, with the
    sr_cfg to write instead (as DFSegHead takes them)."""
    init_default_scope('mmseg')
    cfg = dict(
        type='mmctx.SRHead',
        in_channels=IN_CHANNELS,
        channels=CHANNELS,
        num_classes=NUM_CLASSES,
        **kwargs)
    with pytest.raises(error, match=message):
        MODELS.build(cfg)


@pytest.mark.parametrize('training', [True, False])
def test_module_head_is_the_public_code_head(sfsegnets, training):
    """``SRModuleHead`` with ``public_code_cfg`` against the public code's
    ``ModuleHead(2048, 512, 19, module=ChannelReasonModule(512, 256))``,
    weights and statistics randomised and copied by role, in float64; in
    training with the same dropout mask (one draw each, same seed)."""
    from mmctx.deployment import randomise_
    from mmctx.models.decode_heads import SRModuleHead
    from mmctx.models.layers.sr import public_code_cfg
    public = randomise_(
        sfsegnets.ModuleHead(2048, 512, 19,
                             sfsegnets.ChannelReason(512, 256))).double()
    head = SRModuleHead(
        in_channels=2048,
        channels=512,
        num_classes=19,
        norm_cfg=dict(type='BN'),
        sr_cfg=public_code_cfg(512)).double()
    sfsegnets.copy_block_weights(public.module, head.sr_block)
    pairs = ((head.project.conv, public.in_module), (head.bottleneck.conv,
                                                     public.final[0]),
             (head.bottleneck.bn, public.final[1]), (head.conv_seg,
                                                     public.final[4]))
    for ours, theirs in pairs:
        ours.load_state_dict(theirs.state_dict())
    assert (sum(p.numel() for p in head.parameters()) == sum(
        p.numel() for p in public.parameters()))
    head.train(training)
    public.train(training)
    x = torch.randn(2, 2048, 9, 11, dtype=torch.float64)
    torch.manual_seed(0)
    expected = public(x)
    torch.manual_seed(0)
    torch.testing.assert_close(head([x]), expected, rtol=1e-10, atol=1e-10)
