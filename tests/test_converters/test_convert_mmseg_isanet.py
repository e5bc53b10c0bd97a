"""tools/convert_mmseg_isanet.py: a stock mmseg ISANet checkpoint, converted,
gives mmctx.ISAHead (value_bias=True, mask_padding=False) the same logits."""
import os.path as osp

import mmseg
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

import mmctx  # noqa: F401
from mmctx.converters import convert_checkpoint, convert_state_dict

MMSEG_ISANET_BASE = osp.join(
    osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models',
    'isanet_r50-d8.py')
BN_ON_CPU = {
    'model.pretrained': None,
    'model.backbone.norm_cfg.type': 'BN',
    'model.decode_head.norm_cfg.type': 'BN',
    'model.auxiliary_head.norm_cfg.type': 'BN',
}


def build_model(config, overrides):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({**BN_ON_CPU, **overrides})
    return MODELS.build(cfg.model)


def randomize_stats_and_head(model):
    """Random BN statistics everywhere and random decode-head weights, so
    that every converted tensor matters to the logits."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith('running_mean'):
                tensor.normal_(0, 0.1)
            elif name.endswith('running_var'):
                tensor.uniform_(0.5, 2)
            elif name.startswith('decode_head.') and \
                    tensor.is_floating_point():
                tensor.normal_(0, 0.1)
    return model.eval()


@pytest.fixture(scope='module')
def converted(repo_root, tmp_path_factory):
    init_default_scope('mmseg')
    theirs = randomize_stats_and_head(build_model(MMSEG_ISANET_BASE, {}))
    work = tmp_path_factory.mktemp('convert')
    src, dst = str(work / 'mmseg_isanet.pth'), str(work / 'mmctx_isanet.pth')
    torch.save(dict(state_dict=theirs.state_dict(), meta=dict(iter=1)), src)
    convert_checkpoint(src, dst)
    ours = build_model(
        osp.join(repo_root, 'configs/_base_/models/isanet_r50-d8.py'), {
            'model.decode_head.value_bias': True,
            'model.decode_head.mask_padding': False
        })
    load_checkpoint(ours, dst, map_location='cpu', strict=True)
    return theirs, ours.eval(), dst


@pytest.mark.parametrize(
    'size', [(64, 64), (72, 88), (40, 24)],
    ids=['features-8x8', 'features-9x11', 'features-5x3'])
def test_same_logits(converted, size):
    theirs, ours, _ = converted
    torch.manual_seed(1)
    inputs = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected, out = theirs._forward(inputs), ours._forward(inputs)
    assert expected.shape[-2:] == (size[0] // 8, size[1] // 8)
    assert expected.abs().max() > 1e-2  # a comparison of real signals
    assert (out - expected).abs().max() < 1e-5


def test_checkpoint_records_the_head_options(converted):
    checkpoint = torch.load(converted[2], map_location='cpu')
    assert checkpoint['meta']['iter'] == 1
    assert checkpoint['meta']['mmctx_head_options'] == dict(
        value_bias=True, mask_padding=False)


@pytest.mark.parametrize('option, value', [('mask_padding', True),
                                           ('value_bias', False)])
def test_loading_into_a_head_with_other_options_is_refused(
        converted, option, value):
    """It used to load strictly with the default mask_padding=True and give
    other logits (7% of the labels changed at 6x7 features)."""
    options = dict(value_bias=True, mask_padding=False)
    options[option] = value
    head = MODELS.build(
        dict(
            type='mmctx.ISAHead',
            in_channels=2048,
            channels=512,
            isa_channels=256,
            num_classes=19,
            **options))
    checkpoint = torch.load(converted[2], map_location='cpu')
    state = checkpoint['state_dict']
    assert state._metadata['decode_head']['mmctx_options'] == dict(
        value_bias=True, mask_padding=False)
    model = torch.nn.Module()
    model.decode_head = head
    with pytest.raises(
            ValueError,
            match=f'{option}={not value!r}.*set '
            f'model.decode_head.{option}={not value!r}'):
        load_checkpoint(model, converted[2], map_location='cpu')


def test_the_record_survives_a_re_save(converted, repo_root, tmp_path):
    """A model that loaded the conversion saves mask_padding=False with the
    weights (it used to save no record: the re-saved file loaded strictly
    into the default mask_padding=True)."""
    resaved = str(tmp_path / 'resaved.pth')
    torch.save(dict(state_dict=converted[1].state_dict()), resaved)
    model = build_model(
        osp.join(repo_root, 'configs/_base_/models/isanet_r50-d8.py'),
        {'model.decode_head.value_bias': True})
    with pytest.raises(
            ValueError,
            match=r'decode_head\.isa_module\.stages\.0 .*mask_padding=False'
            r'.*mask_padding=True'):
        load_checkpoint(model, resaved, map_location='cpu', strict=True)


def test_rejects_a_checkpoint_of_another_head():
    with pytest.raises(KeyError, match='ISANet'):
        convert_state_dict({'decode_head.conv_seg.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='unexpected decode_head key'):
        convert_state_dict({
            'decode_head.global_relation.value_project.weight':
            torch.zeros(1),
            'decode_head.nl_block.g.conv.weight':
            torch.zeros(1)
        })


def zoo_recipe(repo_root):
    """The config of docs/en/model_zoo.md that tests mmseg's checkpoints."""
    with open(osp.join(repo_root, 'docs', 'en', 'model_zoo.md')) as f:
        text = f.read()
    mark = ('<!-- tested: tests/test_converters/test_convert_mmseg_isanet.py '
            'runs this block -->')
    return text.split(mark)[1].split('```python\n')[1].split('```')[0]


def unscoped(value):
    """A config value without the ``_scope_`` keys mmengine adds to what
    comes from an ``mmseg::`` base."""
    if isinstance(value, dict):
        return {k: unscoped(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return [unscoped(v) for v in value]
    return value


def test_zoo_recipe_is_mmsegs_test_model_with_our_head(converted, repo_root,
                                                       tmp_path):
    """The documented config is mmseg's ISANet config with only the head
    switched, and the converted checkpoint gives mmseg's logits in it."""
    recipe = tmp_path / 'isanet_mmseg_zoo.py'
    recipe.write_text(zoo_recipe(repo_root))
    cfg = Config.fromfile(str(recipe))
    base = Config.fromfile(
        osp.join(
            osp.dirname(mmseg.__file__), '.mim', 'configs', 'isanet',
            'isanet_r50-d8_4xb2-40k_cityscapes-769x769.py'))
    assert unscoped(cfg.test_pipeline) == unscoped(base.test_pipeline)
    assert unscoped(cfg.model.test_cfg) == unscoped(base.model.test_cfg)
    head = unscoped(cfg.model.decode_head)
    stock = unscoped(base.model.decode_head)
    assert {k: v
            for k, v in head.items() if stock.get(k) != v} == dict(
                type='mmctx.ISAHead', value_bias=True, mask_padding=False)
    theirs, _, checkpoint = converted
    cfg.merge_from_dict(BN_ON_CPU)
    ours = MODELS.build(cfg.model)
    load_checkpoint(ours, checkpoint, map_location='cpu', strict=True)
    inputs = torch.randn(
        1, 3, 72, 88, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, out = theirs._forward(inputs), ours.eval()._forward(inputs)
    assert (out - expected).abs().max() < 1e-5
