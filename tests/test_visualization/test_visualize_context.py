"""tools/visualize_context.py: the pictures of the demo's SR and ISA heads
and of mmseg's converted ISANet Cityscapes checkpoints (random weights of
the same shapes, converted by the converter); configs without an SR or ISA
layer, unknown layers and pixels outside the image are refused by name."""
import os.path as osp

import mmcv
import mmseg
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmctx.converters import convert_checkpoint
from mmctx.visualization.pictures import FeatureGrid, read_image

pytestmark = pytest.mark.stack

DEMO = 'configs/demo/{}_r18w16-d8_1xb8-1k_context-cues-128x128.py'
NO_DOWNLOAD = ['--cfg-options', 'model.backbone.init_cfg=None']
MMSEG_ISANET = osp.join(
    osp.dirname(mmseg.__file__), '.mim', 'configs', 'isanet',
    'isanet_r50-d8_4xb2-40k_cityscapes-769x769.py')
# CPU, no download, and a small test resize (the image is 96x128)
CITYSCAPES_ON_CPU = [
    '--cfg-options', 'model.pretrained=None',
    'model.backbone.norm_cfg.type=BN', 'model.decode_head.norm_cfg.type=BN',
    'model.auxiliary_head.norm_cfg.type=BN', 'test_pipeline.1.scale=(256,128)'
]


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('image') / 'image.png')
    rng = np.random.default_rng(0)
    mmcv.imwrite((rng.random((96, 128, 3)) * 255).astype(np.uint8), path)
    return path


def picture(path):
    """The PNG as an array; the tool drew something on it."""
    drawn = mmcv.imread(str(path))
    assert drawn.std() > 10
    return drawn


def test_isa_head_attention_picture(run_tool, repo_root, image, tmp_path,
                                    capsys):
    out = tmp_path / 'isa'
    assert run_tool('visualize_context',
                    osp.join(repo_root,
                             DEMO.format('isanet')), image, '--out', out,
                    '--pixel', 10, 20, '--pixel', 95, 127, *NO_DOWNLOAD) == 0
    assert capsys.readouterr().out.split() == [str(out / 'attention.png')]
    # two pixels: two rows of three panels
    assert picture(out / 'attention.png').shape[0] > 500


def test_sr_head_node_and_pca_pictures(run_tool, repo_root, image, tmp_path):
    out = tmp_path / 'sr'
    assert run_tool('visualize_context',
                    osp.join(repo_root, DEMO.format('srnet')), image, '--out',
                    out, *NO_DOWNLOAD) == 0
    picture(out / 'nodes.png')
    picture(out / 'pca.png')


def test_a_config_without_sr_or_isa_is_refused_by_name(run_tool, repo_root,
                                                       image, tmp_path):
    config = osp.join(repo_root, DEMO.format('fcn'))
    assert run_tool('visualize_context', config, image, '--out', tmp_path,
                    *NO_DOWNLOAD) == (
                        f'error: {config} has no SR or ISA layer (SRBlock or '
                        'InterlacedSparseAttention)')


def test_mmsegs_own_isa_head_is_refused_with_the_converter(
        run_tool, image, tmp_path):
    message = run_tool('visualize_context', MMSEG_ISANET, image, '--out',
                       tmp_path, *CITYSCAPES_ON_CPU)
    assert 'tools/convert_mmseg_isanet.py' in message
    assert "type='mmctx.ISAHead', value_bias=True" in message


@pytest.mark.parametrize('argv,message', [
    (['--layer', 'decode_head'], "--layer 'decode_head' is not an SR or ISA "
     r"layer of .*; it has \['decode_head.isa_module.stages.0'\]"),
    (['--pixel', '96', '0'], r'--pixel \(96, 0\): y=96 lies outside the '
     '96x128 image'),
])
def test_bad_layer_and_pixel_are_named(run_tool, repo_root, image, tmp_path,
                                       argv, message):
    error = run_tool('visualize_context',
                     osp.join(repo_root, DEMO.format('isanet')), image,
                     '--out', tmp_path, *argv, *NO_DOWNLOAD)
    assert error.startswith('error: ')
    import re
    assert re.search(message, error), error


def test_mmsegs_converted_isanet_cityscapes_checkpoint(run_tool, repo_root,
                                                       image, tmp_path):
    """The zoo recipe of docs/en/model_zoo.md, unchanged, with a checkpoint
    of mmseg's ISANet (random weights) through the converter."""
    from mmengine.config import Config
    init_default_scope('mmseg')
    cfg = Config.fromfile(MMSEG_ISANET)
    cfg.merge_from_dict({
        'model.pretrained': None,
        'model.backbone.norm_cfg.type': 'BN',
        'model.decode_head.norm_cfg.type': 'BN',
        'model.auxiliary_head.norm_cfg.type': 'BN'
    })
    theirs = MODELS.build(cfg.model)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, tensor in theirs.state_dict().items():
            if name.startswith('decode_head.') and tensor.is_floating_point():
                tensor.normal_(0, 0.1)
    src, dst = tmp_path / 'mmseg.pth', tmp_path / 'mmctx.pth'
    torch.save(dict(state_dict=theirs.state_dict(), meta={}), src)
    convert_checkpoint(str(src), str(dst))
    with open(osp.join(repo_root, 'docs', 'en', 'model_zoo.md')) as f:
        recipe = f.read().split(
            '<!-- tested: tests/test_converters/test_convert_mmseg_isanet'
            '.py runs this block -->')[1]
    config = tmp_path / 'isanet_mmseg_zoo.py'
    config.write_text(recipe.split('```python\n')[1].split('```')[0])
    out = tmp_path / 'out'
    assert run_tool('visualize_context', config, image, '--checkpoint', dst,
                    '--out', out, '--pixel', 50, 60, *CITYSCAPES_ON_CPU) == 0
    picture(out / 'attention.png')


def test_feature_grid_maps_pixels_through_resize_and_padding():
    # a 96x128 image resized to 128x171, padded to 128x176, 16x22 features
    grid = FeatureGrid(
        dict(
            ori_shape=(96, 128),
            img_shape=(128, 171),
            batch_input_shape=(128, 176)), (16, 22))
    assert grid.to_feature((0, 0)) == (0, 0)
    # 95 -> 126.7 resized -> 15.8 on the grid; 127 -> 169.7 -> 21.2
    assert grid.to_feature((95, 127)) == (15, 21)
    assert grid.to_feature((48, 64)) == (8, 10)
    maps = torch.zeros(1, 16, 22)
    maps[0, :, 21] = 1  # the column that is mostly padding is cropped
    upsampled = grid.to_image(maps)
    assert upsampled.shape == (1, 96, 128)
    assert upsampled.max() == 0


@pytest.mark.parametrize(
    'content, words', [
        (b'hello', 'is not an image OpenCV reads'),
        (b'', 'is not an image OpenCV reads'),
        ('1x1', 'is 1x1 pixels; the pictures need at least 2x2'),
    ],
    ids=['text', 'empty', '1x1'])
def test_an_image_the_pictures_cannot_use_is_named(tmp_path, content, words):
    """Before: an AssertionError in mmcv, a cv2.error, an IndexError in
    mmseg's drawing."""
    path = str(tmp_path / 'image.png')
    if content == '1x1':
        mmcv.imwrite(np.zeros((1, 1, 3), np.uint8), path)
    else:
        with open(path, 'wb') as f:
            f.write(content)
    with pytest.raises(ValueError, match=f"^image: '{path}' {words}"):
        read_image(path)
