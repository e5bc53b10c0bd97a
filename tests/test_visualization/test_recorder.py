"""ContextRecorder: the maps of a whole segmentor's head and of the plugins
in a Mask R-CNN backbone, from forward hooks, equal to the maps computed on
the layers' inputs taken by hand; nothing of the model changes."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmctx.testing import repo_root_of
from mmctx.visualization import (ContextRecorder, context_layers,
                                 isa_attention, sr_node_maps)

pytestmark = pytest.mark.stack

REPO_ROOT = repo_root_of(__file__)


def build(config, registry):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.init_cfg = None
    return registry.build(cfg.model).eval()


def demo_segmentor(method):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    return build(f'demo/{method}_r18w16-d8_1xb8-1k_context-cues-128x128.py',
                 MODELS)


def test_recorder_gives_the_maps_of_a_segmentors_isa_head():
    model = demo_segmentor('isanet')
    name = 'decode_head.isa_module.stages.0'
    assert list(context_layers(model)) == [name]
    image = torch.randn(1, 3, 96, 128)
    with ContextRecorder(model) as recorder:
        with torch.no_grad():
            logits = model(image, mode='tensor')
    maps = recorder.isa_attention(name, (5, 7))
    assert maps.attention.shape == (1, 12, 16)
    with torch.no_grad():
        feats = model.extract_feat(image)
        # the head itself as the layer: same maps from the features
        expected = isa_attention(model.decode_head, feats, (5, 7))
        torch.testing.assert_close(maps.attention, expected.attention)
        # the hooks are gone and changed nothing
        torch.testing.assert_close(model(image, mode='tensor'), logits)
    assert not model.decode_head.isa_module.stages[0]._forward_hooks
    with pytest.raises(TypeError, match='not a SRBlock'):
        recorder.sr_node_maps(name)


def test_recorder_gives_sr_node_maps_and_one_pca_for_input_and_output():
    model = demo_segmentor('srnet')
    name = 'decode_head.sr_block'
    image = torch.randn(2, 3, 64, 64)
    with ContextRecorder(model, names=[name]) as recorder:
        with torch.no_grad():
            model(image, mode='tensor')
    with torch.no_grad():
        feats = model.extract_feat(image)
        torch.testing.assert_close(
            recorder.sr_node_maps(name), sr_node_maps(model.decode_head,
                                                      feats))
    before, after = recorder.feature_pca(name)
    assert before.shape == after.shape == (2, 3, 8, 8)
    # one projection fitted on both: together they span [0, 1]
    both = torch.stack([before, after])
    assert both.amin(dim=(1, 2, 3, 4)).min() == 0
    assert both.amax(dim=(1, 2, 3, 4)).max() == 1


def test_recorder_reaches_plugins_in_a_mask_rcnn_backbone():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    model = build('isanet/mask-rcnn_r50-isa-c5_fpn_1x_coco.py', MODELS)
    layers = context_layers(model)
    assert list(layers) == [
        f'backbone.layer4.{i}.isa_block.attention' for i in range(3)
    ]
    image = torch.randn(1, 3, 160, 224)
    with ContextRecorder(model) as recorder, torch.no_grad():
        model.extract_feat(image)
    name = 'backbone.layer4.2.isa_block.attention'
    maps = recorder.isa_attention(name, (2, 3))
    assert maps.attention.shape == (1, 5, 7)
    torch.testing.assert_close(
        maps.attention,
        isa_attention(layers[name], recorder.inputs[name], (2, 3)).attention)
    torch.testing.assert_close(
        maps.attention.sum(), torch.tensor(1.), rtol=0, atol=1e-6)


def test_recorder_names_what_it_cannot_find():
    model = demo_segmentor('fcn')
    with pytest.raises(ValueError, match='EncoderDecoder has no SR or ISA'):
        ContextRecorder(model)
    model = demo_segmentor('isanet')
    with pytest.raises(ValueError, match=r"no SR or ISA layer named \['x'\]"):
        ContextRecorder(model, names=['x'])
    recorder = ContextRecorder(model)
    with pytest.raises(KeyError, match='has not run'):
        recorder.isa_attention('decode_head.isa_module.stages.0', (0, 0))
