"""DFNet: the public code's layout (state-dict keys and shapes), level
strides and channels, freezing, and errors."""
from collections import OrderedDict

import pytest
import torch

import mmctx  # noqa: F401
from mmctx.models.backbones import DFNet

pytestmark = pytest.mark.smoke

# The public architecture as the SR paper's code writes it (lxtGH/SFSegNets
# network/dfnet.py), spelled out here independently of mmctx's
# ARCH_SETTINGS: (name, planes, blocks, stride) after the stem.
PUBLIC_STAGES = {
    'v1': [('stage2', 64, 3, 2), ('stage3', 128, 3, 2), ('stage4', 256, 3, 2),
           ('stage5', 512, 1, 1)],
    'v2': [('stage2_1', 64, 2, 2), ('stage2_2', 128, 1, 1),
           ('stage3_1', 128, 10, 2), ('stage3_2', 256, 1, 1),
           ('stage4_1', 256, 4, 2), ('stage4_2', 512, 2, 1)],
}


def bn_entries(prefix, channels, generator):
    return {
        f'{prefix}.weight': torch.rand(channels, generator=generator) + 0.5,
        f'{prefix}.bias': torch.randn(channels, generator=generator),
        f'{prefix}.running_mean': torch.randn(channels, generator=generator),
        f'{prefix}.running_var':
        torch.rand(channels, generator=generator) + .5,
        f'{prefix}.num_batches_tracked': torch.tensor(7),
    }


def public_state_dict(arch):
    """Random values in the keys and shapes of dfnetv1/dfnetv2's
    ``state_dict()`` (nn.Sequential stem, torchvision-style BasicBlocks)."""
    g = torch.Generator().manual_seed(0)
    sd = OrderedDict()
    sd['stage1.0.weight'] = torch.randn(32, 3, 3, 3, generator=g)
    sd.update(bn_entries('stage1.1', 32, g))
    sd['stage1.3.weight'] = torch.randn(64, 32, 3, 3, generator=g)
    sd.update(bn_entries('stage1.4', 64, g))
    inplanes = 64
    for name, planes, blocks, stride in PUBLIC_STAGES[arch]:
        for i in range(blocks):
            p = f'{name}.{i}'
            sd[f'{p}.conv1.weight'] = torch.randn(
                planes, inplanes, 3, 3, generator=g)
            sd.update(bn_entries(f'{p}.bn1', planes, g))
            sd[f'{p}.conv2.weight'] = torch.randn(
                planes, planes, 3, 3, generator=g)
            sd.update(bn_entries(f'{p}.bn2', planes, g))
            if i == 0 and (stride != 1 or inplanes != planes):
                sd[f'{p}.downsample.0.weight'] = torch.randn(
                    planes, inplanes, 1, 1, generator=g)
                sd.update(bn_entries(f'{p}.downsample.1', planes, g))
            inplanes = planes
    return sd


@pytest.mark.parametrize('arch', ['v1', 'v2'])
def test_public_checkpoint_loads_strictly(arch, tmp_path):
    public = public_state_dict(arch)
    path = str(tmp_path / f'df{arch[1]}_imagenet.pth')
    torch.save(public, path)
    model = DFNet(arch, init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    ours = model.state_dict()
    assert list(ours) == list(public)
    for key, value in public.items():
        assert torch.equal(ours[key], value), key
    model.load_state_dict(public, strict=True)


@pytest.mark.parametrize('arch, shapes', [
    ('v1', [(128, 4, 8), (256, 2, 4), (512, 2, 4)]),
    ('v2', [(128, 8, 16), (256, 4, 8), (512, 2, 4)]),
])
def test_level_channels_and_strides(arch, shapes):
    model = DFNet(arch).eval()
    outs = model(torch.randn(2, 3, 64, 128))
    assert [tuple(o.shape) for o in outs] == [(2, ) + s for s in shapes]
    picked = DFNet(arch, out_indices=(2, 0)).eval()
    picked.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 64, 128)
    full, chosen = model(x), picked(x)
    assert torch.equal(chosen[0], full[2]) and torch.equal(chosen[1], full[0])


def test_frozen_stages_and_norm_eval():
    model = DFNet('v2', frozen_stages=2, norm_eval=True)
    model.train()
    frozen = {'stage1', 'stage2_1', 'stage2_2'}
    for name, param in model.named_parameters():
        assert param.requires_grad == (name.split('.')[0] not in frozen), name
    assert not model.stage1.training and not model.stage2_2.training
    assert model.stage3_1.training
    assert all(not m.training for m in model.modules()
               if isinstance(m, torch.nn.BatchNorm2d))
    trainable = DFNet('v2', frozen_stages=-1).train()
    assert all(p.requires_grad for p in trainable.parameters())


@pytest.mark.parametrize('kwargs, argument', [
    (dict(arch='v3'), 'arch'),
    (dict(out_indices=(3, )), 'out_indices'),
    (dict(out_indices=()), 'out_indices'),
    (dict(frozen_stages=7), 'frozen_stages'),
    (dict(arch='v1', frozen_stages=5), 'frozen_stages'),
])
def test_bad_arguments_are_named(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        DFNet(**kwargs)
