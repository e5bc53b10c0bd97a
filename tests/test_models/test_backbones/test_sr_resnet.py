"""SRResNet (SR paper Table X): mmpretrain's ResNet with an SRGate in every
bottleneck, by value against mmpretrain's own Bottleneck."""
import pytest
import torch
import torch.nn as nn

from mmctx.testing import mmpretrain_missing  # noqa: E402

if mmpretrain_missing():
    pytest.skip(mmpretrain_missing(), allow_module_level=True)

from mmpretrain.models.backbones import ResNet  # noqa: E402
from mmpretrain.models.backbones.resnet import Bottleneck  # noqa: E402

from mmctx.deployment import randomise_  # noqa: E402
from mmctx.models.backbones import SRResNet  # noqa: E402
from mmctx.models.backbones.sr_resnet import SRBottleneck  # noqa: E402
from mmctx.models.layers import SRGate  # noqa: E402
from mmctx.models.layers._options import RECORD  # noqa: E402

pytestmark = pytest.mark.smoke


class Scale(nn.Module):
    """A stand-in gate: multiplies by a constant."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, x):
        return x * self.value


def pair(stride=2, **kwargs):
    """An SRBottleneck with random weights and statistics, and mmpretrain's
    Bottleneck with the same weights."""
    downsample = nn.Sequential(
        nn.Conv2d(32, 64, 1, stride=stride, bias=False), nn.BatchNorm2d(64))
    ours = SRBottleneck(
        32,
        64,
        stride=stride,
        downsample=downsample,
        sr_cfg=dict(num_nodes=4),
        **kwargs)
    randomise_(ours).eval()
    theirs = Bottleneck(
        32, 64, stride=stride, downsample=downsample, **kwargs).eval()
    missing = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert not missing.missing_keys
    assert all(k.startswith('sr_gate.') for k in missing.unexpected_keys)
    return ours, theirs


def test_bottleneck_is_mmpretrains_with_the_gate_after_norm3():
    ours, theirs = pair()
    x = torch.randn(2, 32, 9, 11)
    with torch.no_grad():
        ours.sr_gate = Scale(1.0)
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)
        # the gate scales the residual branch only, before the sum
        ours.sr_gate = Scale(0.0)
        identity = theirs.downsample(x)
        torch.testing.assert_close(ours(x), identity.relu())


def test_bottleneck_output_is_the_gated_branch_plus_identity():
    ours, theirs = pair()
    x = torch.randn(2, 32, 9, 11)
    with torch.no_grad():
        branch = ours.norm3(
            ours.conv3(
                ours.relu(
                    ours.norm2(
                        ours.conv2(ours.relu(ours.norm1(ours.conv1(x))))))))
        expected = (ours.sr_gate(branch) + ours.downsample(x)).relu()
        torch.testing.assert_close(ours(x), expected)
        assert not torch.allclose(ours(x), theirs(x))


def test_with_cp_gives_the_same_values_gradients_and_statistics():
    torch.manual_seed(0)
    plain, _ = pair()
    cp, _ = pair(with_cp=True)
    cp.load_state_dict(plain.state_dict())
    plain, cp = plain.double().train(), cp.double().train()
    x = torch.randn(2, 32, 9, 11, dtype=torch.float64)
    outs = []
    for block in (plain, cp):
        xi = x.clone().requires_grad_()
        out = block(xi)
        out.square().sum().backward()
        outs.append((out, xi.grad, [p.grad for p in block.parameters()]))
    (y0, gx0, g0), (y1, gx1, g1) = outs
    torch.testing.assert_close(y1, y0, rtol=0, atol=0)
    torch.testing.assert_close(gx1, gx0, rtol=1e-12, atol=1e-12)
    for a, b in zip(g1, g0):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # BatchNorm running statistics updated once, as without checkpointing
    torch.testing.assert_close(
        cp.state_dict(), plain.state_dict(), rtol=0, atol=0)


def test_with_cp_checkpoints_in_training_after_a_frozen_stem(monkeypatch):
    """An input that needs no gradient (a frozen stem's output) is still
    checkpointed in training, with the parameters' gradients of the plain
    block; not in eval."""
    from mmctx.models.backbones import sr_resnet
    calls = []
    checkpointed = sr_resnet.checkpointed
    monkeypatch.setattr(sr_resnet, 'checkpointed',
                        lambda *args: calls.append(1) or checkpointed(*args))
    torch.manual_seed(0)
    plain, _ = pair()
    cp, _ = pair(with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 32, 9, 11, dtype=torch.float64)
    grads = []
    for block in (plain.double().train(), cp.double().train()):
        block(x).square().sum().backward()
        grads.append([p.grad for p in block.parameters()])
    assert calls == [1]
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)
    cp.eval()
    cp(x)
    assert calls == [1]


@pytest.mark.parametrize('depth', [50, 101])
def test_is_mmpretrains_resnet_plus_one_gate_per_bottleneck(depth):
    ours, theirs = SRResNet(depth), ResNet(depth)
    ours_keys = ours.state_dict().keys()
    theirs_state = theirs.state_dict()
    assert set(theirs_state) <= set(ours_keys)
    extra = set(ours_keys) - set(theirs_state)
    assert all('.sr_gate.' in k for k in extra)
    gates = [m for m in ours.modules() if isinstance(m, SRGate)]
    assert len(gates) == sum(ours.stage_blocks)
    assert all(g.num_nodes == 16 for g in gates)
    # a ResNet checkpoint loads into it, every key but the gates' (their
    # records of options are not needed from a checkpoint without them)
    result = ours.load_state_dict(theirs_state, strict=False)
    assert set(
        result.missing_keys) == {k
                                 for k in extra if not k.endswith(RECORD)}
    assert not result.unexpected_keys


def test_sr_cfg_reaches_every_gate():
    ours = SRResNet(50, sr_cfg=dict(num_nodes=8, reasoning='attention'))
    gates = [m for m in ours.modules() if isinstance(m, SRGate)]
    assert {(g.num_nodes, g.reasoning_mode)
            for g in gates} == {(8, 'attention')}


def test_trains_one_step_on_cpu():
    # no init_weights: zero_init_residual would zero norm3, the gates' input
    model = SRResNet(50, out_indices=(3, ))
    x = torch.randn(2, 3, 64, 64)
    (feature, ) = model(x)
    assert feature.shape == (2, 2048, 2, 2)
    feature.mean().backward()
    gate = model.layer4[0].sr_gate.reasoning.state_update.weight
    assert gate.grad is not None and gate.grad.abs().sum() > 0


def test_bad_depth_names_it():
    with pytest.raises(ValueError, match=r'depth must be one of .* 34'):
        SRResNet(34)


def test_builds_from_a_config_with_the_mmctx_scope():
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='mmctx.SRResNet', depth=50),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=2048)))
    assert isinstance(model.backbone, SRResNet)
