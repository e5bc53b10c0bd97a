"""The peer modules the benchmark measures (mmctx.analysis.peers)."""
import pytest
import torch
import torch.nn as nn

from mmctx.analysis import METHODS
from mmctx.analysis.peers import MMSegISAAttention
from mmctx.deployment import randomise_

C = 16


class FirstHalf(nn.Module):
    """``out_conv`` replaced: keeps the context half of ``cat([x, res])``."""

    def forward(self, x):
        return x[:, :C]


@pytest.mark.parametrize('size', [(16, 16), (13, 17)])
def test_mmseg_isa_attention_is_mmsegs_forward(size):
    """The copy of ``ISAHead.forward`` between ``in_conv`` and ``out_conv``
    gives what mmseg's own forward gives on the same weights (padded sizes
    too): a change in mmseg fails here."""
    from mmseg.models.decode_heads import ISAHead
    torch.manual_seed(0)
    ours = randomise_(MMSegISAAttention(C, C // 2)).eval()
    head = ISAHead(
        in_channels=C,
        channels=C,
        isa_channels=C // 2,
        num_classes=2,
        norm_cfg=dict(type='BN'),
        dropout_ratio=0)
    head.global_relation.load_state_dict(ours.global_relation.state_dict())
    head.local_relation.load_state_dict(ours.local_relation.state_dict())
    head.in_conv, head.out_conv, head.conv_seg = (nn.Identity(), FirstHalf(),
                                                  nn.Identity())
    head.eval()
    x = torch.randn(2, C, *size, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(ours.double()(x), head.double()([x]))


def test_every_method_builds_a_block_or_a_head():
    for name, method in METHODS.items():
        assert method.block is not None or method.head is not None, name
