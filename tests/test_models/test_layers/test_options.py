"""Options that change a module's function without changing its parameters
travel with its state dict (layers/_options.py)."""
import io
import re

import pytest
import torch

from mmctx.deployment import randomise_
from mmctx.models.layers import (CGNLBlock, DownsampledSelfAttention,
                                 InterlacedSparseAttention, ISABlock,
                                 PyramidNonLocal, RecurrentCrissCrossAttention,
                                 SRBlock, SRGate)
from mmctx.models.layers._options import RECORD, encode_options

ISA = dict(in_channels=8, key_channels=4, down_factor=4, norm_cfg=None)
SR = dict(in_channels=16, num_nodes=4, zero_init=False)
#: (module, options it is built with, option, another value): every
#: recorded option of every module that records one.
CASES = [
    (SRBlock, SR, 'node_order', 'strided'),
    (SRBlock, SR, 'ghp_scale', 'sum'),
    (SRGate, dict(in_channels=16, num_nodes=4), 'node_order', 'strided'),
    (InterlacedSparseAttention, ISA, 'order', 'short_long'),
    (InterlacedSparseAttention, ISA, 'mask_padding', False),
    (CGNLBlock, dict(in_channels=8), 'kernel', 'gaussian'),
    (CGNLBlock, dict(in_channels=8, kernel='gaussian', gamma=0.5), 'order', 3),
    (CGNLBlock, dict(in_channels=8, zero_init=False,
                     kernel='gaussian'), 'gamma', 0.5),
    (CGNLBlock, dict(in_channels=8), 'use_scale', True),
    (DownsampledSelfAttention,
     dict(in_channels=8, key_channels=4, norm_cfg=None), 'pool', 'avg'),
    (DownsampledSelfAttention,
     dict(in_channels=8, key_channels=4,
          norm_cfg=None), 'align_corners', False),
    (RecurrentCrissCrossAttention, dict(in_channels=8), 'recurrence', 1),
    (PyramidNonLocal, dict(in_channels=8,
                           norm_cfg=None), 'key_pool_scales', (1, 2)),
]
IDS = [f'{cls.__name__}-{option}' for cls, _, option, _ in CASES]


def torch_round_trip(state_dict):
    """``state_dict`` through ``torch.save`` and ``torch.load`` with
    ``weights_only=True``, as a checkpoint carries it."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize('cls, cfg, option, other', CASES, ids=IDS)
def test_another_value_of_an_option_is_refused_by_name(cls, cfg, option,
                                                       other):
    saved = cls(**cfg)
    model = torch.nn.Sequential(cls(**{**cfg, option: other}))
    state = torch_round_trip(
        {f'0.{k}': v
         for k, v in saved.state_dict().items()})
    was = re.escape(repr(saved.current_options()[option]))
    now = re.escape(repr(model[0].current_options()[option]))
    with pytest.raises(
            ValueError,
            match=rf'^the state dict of 0 \({cls.__name__}\) was saved with '
            rf'{option}={was}, but this module has {option}={now};.* build '
            rf'it with {option}={was} to load them$'):
        model.load_state_dict(state)


@pytest.mark.parametrize('cls, cfg, option, other', CASES, ids=IDS)
def test_the_option_changes_the_function(cls, cfg, option, other):
    """Why the record is needed: the same weights under the other value
    compute something else (they loaded silently before)."""
    ours = randomise_(cls(**cfg)).eval()
    theirs = cls(**{**cfg, option: other}).eval()
    theirs.load_state_dict(
        {k: v
         for k, v in ours.state_dict().items() if k != RECORD})
    x = torch.randn(2, cfg['in_channels'], 6, 7)
    with torch.no_grad():
        assert not torch.allclose(ours(x), theirs(x))


def test_the_same_options_load_and_the_record_round_trips():
    saved = ISABlock(8, reduction=2, mask_padding=False, zero_init=False)
    model = ISABlock(8, reduction=2, mask_padding=False, zero_init=False)
    model.load_state_dict(torch_round_trip(saved.state_dict()))
    x = torch.randn(1, 8, 5, 9)
    torch.testing.assert_close(model(x), saved(x), rtol=0, atol=0)
    assert torch.equal(
        model.state_dict()[f'attention.{RECORD}'],
        encode_options(dict(mask_padding=False, order='long_short')))


def test_a_state_dict_saved_before_the_record_loads():
    saved = {
        k: v
        for k, v in ISABlock(8, reduction=2,
                             mask_padding=False).state_dict().items()
        if not k.endswith(RECORD)
    }
    model = ISABlock(8, reduction=2)
    model.load_state_dict(saved, strict=True)
    # the module keeps its own record, which its next save carries
    assert model.attention.current_options()['mask_padding'] is True
    assert f'attention.{RECORD}' in model.state_dict()


def test_down_factor_stays_free_at_test_time():
    saved = ISABlock(8, reduction=2, down_factor=8).state_dict()
    ISABlock(8, reduction=2, down_factor=(2, 3)).load_state_dict(saved)


def test_a_record_naming_an_option_this_version_lacks_loads():
    state = SRBlock(16, num_nodes=4).state_dict()
    state[RECORD] = encode_options(
        dict(node_order='contiguous', ghp_scale='mean', future=1))
    SRBlock(16, num_nodes=4).load_state_dict(state)


def test_a_record_that_is_not_one_is_named():
    state = SRBlock(16, num_nodes=4).state_dict()
    state[RECORD] = torch.tensor([1, 2, 3], dtype=torch.uint8)
    with pytest.raises(ValueError, match=f'^{RECORD} is not a record'):
        SRBlock(16, num_nodes=4).load_state_dict(state)
