"""ContextResNet (ISA paper Table 11): context blocks between mmpretrain
ResNet bottlenecks, where CGNL and the non-local networks put them."""
import pytest
import torch

from mmctx.testing import mmpretrain_missing  # noqa: E402

if mmpretrain_missing():
    pytest.skip(mmpretrain_missing(), allow_module_level=True)

from mmpretrain.models.backbones import ResNet  # noqa: E402

from mmctx.deployment import randomise_  # noqa: E402
from mmctx.models.backbones import ContextResNet  # noqa: E402
from mmctx.models.layers import CGNLBlock, ISABlock  # noqa: E402

pytestmark = pytest.mark.smoke

ISA = dict(type='ISABlock', reduction=2, norm_cfg=dict(type='BN'))
FIVE = ((), (0, 2), (0, 2, 4), ())


def context_names(model):
    return [
        name for name, m in model.named_modules()
        if isinstance(m, (ISABlock, CGNLBlock))
    ]


@pytest.mark.parametrize('depth,expected', [(50, ['layer3.context4']),
                                            (101, ['layer3.context21'])])
def test_default_is_one_block_before_the_last_bottleneck_of_res4(
        depth, expected):
    model = ContextResNet(depth, context_cfg=ISA)
    assert context_names(model) == expected
    stage = model.layer3
    names = list(stage._modules)
    assert names[-3:] == [
        str(len(names) - 3), expected[0].split('.')[1],
        str(len(names) - 2)
    ]


def test_five_blocks_follow_every_other_bottleneck_of_res3_and_res4():
    model = ContextResNet(50, context_cfg=ISA, context_after=FIVE)
    assert context_names(model) == [
        'layer2.context0', 'layer2.context2', 'layer3.context0',
        'layer3.context2', 'layer3.context4'
    ]
    assert list(
        model.layer2._modules) == ['0', 'context0', '1', '2', 'context2', '3']
    widths = [
        m.in_channels for _, m in model.named_modules()
        if isinstance(m, ISABlock)
    ]
    assert widths == [512, 512, 1024, 1024, 1024]


def test_resnet_checkpoints_load_and_the_model_starts_as_the_resnet():
    resnet = randomise_(ResNet(50))
    resnet.eval()  # mmpretrain's ResNet.train returns None
    model = ContextResNet(50, context_cfg=ISA, context_after=FIVE)
    model.init_weights()
    result = model.load_state_dict(resnet.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert result.missing_keys and all('.context' in k
                                       for k in result.missing_keys)
    model.eval()
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        torch.testing.assert_close(model(x), resnet(x), rtol=0, atol=0)


def test_forward_runs_each_block_after_its_bottleneck():
    """With active (randomised) blocks the stage is the composition
    bottleneck 0..4, block, bottleneck 5, written out."""
    model = randomise_(
        ContextResNet(50, context_cfg=dict(type='CGNLBlock', groups=8)))
    model.eval()
    x = torch.randn(1, 512, 12, 14)
    stage = model.layer3
    with torch.no_grad():
        before = x
        for i in range(5):
            before = getattr(stage, str(i))(before)
        expected = getattr(stage, '5')(stage.context4(before))
        torch.testing.assert_close(stage(x), expected, rtol=0, atol=0)
        assert not torch.allclose(stage.context4(before), before)
