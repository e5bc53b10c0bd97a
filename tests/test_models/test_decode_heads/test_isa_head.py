"""mmctx.ISAHead: drop-in for mmseg's ISAHead, options, exact reproduction."""
import os.path as osp

import mmseg
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.models.decode_heads import ISAHead as MMSegISAHead
from mmseg.registry import MODELS

import mmctx  # noqa: F401  (registers mmctx.ISAHead)
from mmctx.models.decode_heads import ISAHead
from mmctx.models.layers.isa import ISAModule

pytestmark = pytest.mark.stack  # the heads and plugins run on every stack

MMSEG_ISANET_BASE = osp.join(
    osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models',
    'isanet_r50-d8.py')

IN_CHANNELS, CHANNELS, ISA_CHANNELS, NUM_CLASSES = 12, 16, 8, 5


def build_head(type='mmctx.ISAHead', **kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type=type,
        in_channels=IN_CHANNELS,
        channels=CHANNELS,
        isa_channels=ISA_CHANNELS,
        num_classes=NUM_CLASSES,
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def randomize(module, seed=0):
    """Random weights and BN statistics, eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in module.state_dict().items():
            if name.endswith('running_var'):
                p.uniform_(0.5, 2)
            elif p.is_floating_point():
                p.normal_(0, 0.3)
    return module.eval()


def test_plain_isahead_is_still_mmseg():
    assert type(build_head(type='ISAHead')) is MMSegISAHead
    assert type(build_head()) is ISAHead


def test_accepts_mmseg_base_config_changing_only_the_type():
    base = Config.fromfile(MMSEG_ISANET_BASE)
    cfg = base.model.decode_head.to_dict()
    cfg.update(type='mmctx.ISAHead', norm_cfg=dict(type='BN'))
    head = MODELS.build(cfg)
    assert (head.in_channels, head.channels, head.num_classes) == (2048, 512,
                                                                   19)
    stage = head.isa_module.stages[0]
    assert stage.down_factor == (8, 8)
    assert stage.long_range.key_channels == 256 == cfg['isa_channels']
    assert head.dropout.p == 0.1


def test_forward_is_in_conv_isa_module_classifier():
    head = randomize(build_head())
    x = torch.randn(2, IN_CHANNELS, 9, 11)
    feats = head._forward_feature([x])
    expected = head.isa_module(head.in_conv(x))
    torch.testing.assert_close(feats, expected, rtol=0, atol=0)
    torch.testing.assert_close(head([x]), head.cls_seg(feats), rtol=0, atol=0)
    assert head([x]).shape == (2, NUM_CLASSES, 9, 11)
    assert head.isa_module.dropout is None  # the head's own dropout is used


def test_options_reach_the_attention():
    head = build_head(
        down_factor=(4, 2),
        order='short_long',
        mask_padding=False,
        fused_attn=False,
        value_bias=True,
        fusion='residual')
    module = head.isa_module
    assert isinstance(module, ISAModule) and module.fusion == 'residual'
    stage = module.stages[0]
    assert stage.down_factor == (4, 2) and stage.order == 'short_long'
    assert not stage.mask_padding
    assert stage.long_range.value_project.bias is not None
    assert not stage.long_range.fused_attn
    default = build_head().isa_module.stages[0]
    assert default.long_range.value_project.bias is None
    assert default.mask_padding and default.order == 'long_short'


def test_several_down_factors():
    head = randomize(build_head(down_factor=((8, 8), (4, 4))))
    assert [s.down_factor for s in head.isa_module.stages] == [(8, 8), (4, 4)]
    assert head.isa_module.fuse.conv.in_channels == 3 * CHANNELS
    assert head([torch.randn(1, IN_CHANNELS, 13,
                             17)]).shape == (1, NUM_CLASSES, 13, 17)


def test_fused_attn_reaches_every_unit_and_agrees_with_explicit():
    """The head passes ``fused_attn`` on; the two paths' agreement itself is
    owned by test_interlaced_attention.py::test_fused_equals_explicit (this
    test compared fused with fused when ``fused_attn=True``)."""
    x = torch.randn(1, IN_CHANNELS, 13, 17, dtype=torch.float64)
    fused = randomize(build_head(fused_attn=True)).double()
    explicit = randomize(build_head(fused_attn=False)).double()
    units = [m for m in explicit.modules() if hasattr(m, 'fused_attn')]
    assert len(units) == 2 and not any(u.fused_attn for u in units)
    torch.testing.assert_close(
        explicit([x]), fused([x]), rtol=1e-12, atol=1e-12)


def test_mask_padding_changes_output_only_when_padded():
    x = torch.randn(1, IN_CHANNELS, 16, 16)
    masked = randomize(build_head(mask_padding=True))
    plain = randomize(build_head(mask_padding=False))
    with torch.no_grad():
        torch.testing.assert_close(masked([x]), plain([x]))
        odd = x[..., :13, :15]
        assert (masked([odd]) - plain([odd])).abs().max() > 1e-4


def test_bad_arguments():
    with pytest.raises(ValueError, match='down_factor'):
        build_head(down_factor='8x8')
    with pytest.raises(ValueError, match='down_factor'):
        build_head(down_factor=(8, 0))
    with pytest.raises(ValueError, match='order'):
        build_head(order='long_long')
    with pytest.raises(ValueError, match='fusion'):
        build_head(fusion='sum')


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(channels=0), ValueError,
     'channels must be a positive int, but got 0'),
    (dict(isa_channels=0), ValueError,
     'isa_channels must be a positive int, but got 0'),
    (dict(down_factor=(8.0, 8.0)), ValueError,
     r'down_factor must be .*got \(8.0, 8.0\)'),
    (dict(mask_padding='False'), TypeError,
     "mask_padding must be True or False, but got 'False'"),
    (dict(fused_attn=1), TypeError, 'fused_attn must be True or False'),
    (dict(dropout_ratio='0.1'), ValueError, 'dropout_ratio must be a number'),
])
def test_errors_name_the_head_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        build_head(**kwargs)


def test_bare_pair_is_one_down_factor():
    """(8, 8) is one factor for the head and for ISAModule alike (the module
    used to build two stages of down factor 8)."""
    assert len(build_head(down_factor=(8, 8)).isa_module.stages) == 1
    module = ISAModule(16, 8, 16, down_factors=(8, 8))
    assert module.down_factors == [(8, 8)]
    module = ISAModule(16, 8, 16, down_factors=((8, 8), (4, 2)))
    assert module.down_factors == [(8, 8), (4, 2)]


def test_multi_level_inputs_and_align_corners():
    head = randomize(
        build_head(
            in_channels=[4, 8],
            in_index=[0, 1],
            input_transform='resize_concat',
            align_corners=True))
    inputs = [torch.randn(1, 4, 9, 11), torch.randn(1, 8, 5, 6)]
    assert head(inputs).shape == (1, NUM_CLASSES, 9, 11)
    assert head.in_conv.conv.in_channels == 12 and head.align_corners
