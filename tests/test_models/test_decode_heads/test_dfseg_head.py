"""DF-Seg head and the Table V models: the public decoder's arithmetic,
SR in place of PPM, exact parameter counts, and a short mim training run."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmctx  # noqa: F401
from mmctx.deployment import randomise_
from mmctx.models.decode_heads import DFSegHead
from mmctx.models.layers import SRBlock
from mmctx.testing import output_tail

CONFIGS = {
    'DF-Seg-v1':
    'configs/dfseg/dfseg_dfnetv1_4xb4-50k_cityscapes-1024x1024.py',
    'DF-Seg-v2':
    'configs/dfseg/dfseg_dfnetv2_4xb4-50k_cityscapes-1024x1024.py',
    'SRNet-DFv2':
    'configs/srnet/srnet_dfnetv2_4xb4-50k_cityscapes-1024x1024.py',
}
# SR paper Table V, parameters in millions at 19 classes
TABLE_V_PARAMS = {'DF-Seg-v1': 9.37, 'DF-Seg-v2': 18.83, 'SRNet-DFv2': 18.87}


def make_head(context, **kwargs):
    return DFSegHead(
        context=context,
        in_channels=[16, 24, 32],
        channels=20,
        fusion_channels=8,
        num_classes=5,
        dropout_ratio=0.1,
        norm_cfg=dict(type='BN'),
        align_corners=True,
        **kwargs)


def public_decoder(head, x3, x4, x5):
    """DFSegnet.forward of the public code (PSPModule, cc5/cc4/cc3,
    FusionNode, Aux_Module) written with functional ops over the head's
    weights: upsampling with align_corners=True, priors before the input."""

    def up(x, size):
        return F.interpolate(x, size, mode='bilinear', align_corners=True)

    def bn(x, norm):
        return F.batch_norm(x, norm.running_mean, norm.running_var,
                            norm.weight, norm.bias, False, 0., norm.eps)

    if head.context_type == 'ppm':
        priors = []
        for scale, stage in zip((1, 2, 3, 6), head.ppm):
            conv = stage[1]
            pooled = F.adaptive_avg_pool2d(x5, scale)
            priors.append(
                up(
                    bn(F.conv2d(pooled, conv.conv.weight), conv.bn),
                    x5.shape[2:]))
        bottleneck = head.bottleneck[0]
        x5 = F.relu(
            bn(
                F.conv2d(torch.cat(priors + [x5], 1), bottleneck.conv.weight),
                bottleneck.bn))
    else:
        x5 = head.sr_block(x5)
    cc5, cc4, cc3 = head.lateral_convs
    x5, x4, x3 = (F.conv2d(x, c.weight, c.bias)
                  for c, x in ((cc5, x5), (cc4, x4), (cc3, x3)))
    fn4, fn3 = head.fusion_convs
    f4 = F.conv2d(
        torch.cat([up(x5, x4.shape[2:]), x4], 1), fn4.weight, padding=1)
    out = F.conv2d(
        torch.cat([up(f4, x3.shape[2:]), x3], 1), fn3.weight, padding=1)
    fc = head.classifier
    out = F.relu(
        bn(F.conv2d(out, fc.conv.weight, fc.conv.bias, padding=1), fc.bn))
    return F.conv2d(out, head.conv_seg.weight, head.conv_seg.bias)


@pytest.mark.smoke
@pytest.mark.parametrize('context', ['ppm', 'sr'])
def test_matches_the_public_decoder(context):
    head = randomise_(make_head(context)).eval()
    g = torch.Generator().manual_seed(1)
    inputs = [
        torch.randn(2, c, h, w, generator=g)
        for c, h, w in ((16, 12, 20), (24, 6, 10), (32, 3, 5))
    ]
    out = head(inputs)
    assert out.shape == (2, 5, 12, 20)
    torch.testing.assert_close(
        out, public_decoder(head, *inputs), rtol=1e-5, atol=1e-5)


@pytest.mark.smoke
def test_sr_context_is_a_configurable_sr_block():
    head = make_head(
        'sr', sr_cfg=dict(ratio=4, num_nodes=2, reasoning='attention'))
    assert isinstance(head.sr_block, SRBlock)
    assert head.sr_block.in_channels == 32 and head.sr_block.num_nodes == 2
    assert not hasattr(head, 'ppm')
    assert head.lateral_convs[0].in_channels == 32  # x5 keeps its channels
    assert make_head('ppm').lateral_convs[0].in_channels == 8


@pytest.mark.smoke
@pytest.mark.parametrize('kwargs, argument', [
    (dict(context='aspp'), 'context'),
    (dict(fusion_channels=0), 'fusion_channels'),
    (dict(in_channels=[16, 32]), 'in_channels'),
])
def test_bad_arguments_are_named(kwargs, argument):
    cfg = dict(in_channels=[16, 24, 32], channels=20, num_classes=5)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=argument):
        DFSegHead(**cfg)


@pytest.mark.smoke
@pytest.mark.parametrize('kwargs, error, message', [
    (dict(context='ppm', sr_cfg=dict(num_nodes=4)), ValueError,
     "sr_cfg is for context='sr', got context='ppm'"),
    (dict(context='sr', num_nodes=4), TypeError,
     r'DFSegHead takes the SR block options in sr_cfg: write '
     r'sr_cfg=dict\(num_nodes=4\)'),
    (dict(context='sr', sr_cfg=dict(num_nodes=5)), ValueError,
     r'num_nodes=5 must divide .*in_channels\[2\]'),
])
def test_sr_options_are_named_like_srheads(kwargs, error, message):
    cfg = dict(in_channels=[16, 24, 32], channels=20, num_classes=5)
    cfg.update(kwargs)
    with pytest.raises(error, match=message):
        DFSegHead(**cfg)


def build_model(repo_root, name):
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[name]))
    init_default_scope('mmseg')
    return MODELS.build(cfg.model)


@pytest.mark.smoke
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_parameter_counts_match_table_v(repo_root, name):
    model = build_model(repo_root, name)
    params = sum(p.numel() for p in model.parameters())
    assert round(params / 1e6, 2) == TABLE_V_PARAMS[name], params


def test_whole_model_infers_at_full_resolution_shape(repo_root):
    """Whole-image inference of SRNet-DFv2 keeps the input size (here a
    1/8 scale Cityscapes frame for time)."""
    model = randomise_(build_model(repo_root, 'SRNet-DFv2')).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 128, 256), mode='tensor')
    assert logits.shape == (1, 19, 16, 32)
    assert torch.isfinite(logits).all() and logits.std() > 0


@pytest.mark.slow
def test_srnet_dfnetv2_trains_and_evaluates_with_mim(repo_root, shared_data,
                                                     seg_sample, tmp_path):
    data_root = osp.join(shared_data, 'cityscapes_sample')
    options = seg_sample.overrides(data_root, 2)
    del options['model.auxiliary_head.norm_cfg.type']  # DF-Seg has none
    options['train_dataloader.batch_size'] = 2
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    cmd = [
        mim, 'train', 'mmseg', CONFIGS['SRNet-DFv2'], '--work-dir',
        str(tmp_path), '--cfg-options', *seg_sample.as_cli(options)
    ]
    result = subprocess.run(
        cmd,
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=400,
        env=dict(os.environ, OMP_NUM_THREADS='2'))
    assert result.returncode == 0, \
        output_tail(result)
    assert osp.isfile(tmp_path / 'iter_2.pth')
    logs = [
        osp.join(root, f) for root, _, files in os.walk(tmp_path)
        for f in files if f == 'scalars.json'
    ]
    with open(logs[0]) as f:
        rows = [json.loads(line) for line in f]
    miou = [row['mIoU'] for row in rows if 'mIoU' in row]
    assert len(miou) == 1 and 0.0 <= miou[0] <= 100.0
