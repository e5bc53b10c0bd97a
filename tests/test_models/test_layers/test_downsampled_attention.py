"""SA-2x (ISA paper Table 12): dense self-attention of the max-pooled map,
upsampled, checked against a float64 brute force at odd and tiny sizes."""
import pytest
import torch
import torch.nn.functional as F

from mmctx.deployment import randomise_
from mmctx.models.layers import DownsampledSelfAttention, SelfAttentionUnit


def build(**kwargs):
    module = DownsampledSelfAttention(6, 4, 5, 7, **kwargs)
    return randomise_(module).double().eval()


def brute_force(module, x, pooled_size):
    """Pool by hand, attend with an explicit softmax, upsample."""
    unit = module.attention
    n, _, h, w = x.shape
    ph, pw = pooled_size
    sh, sw = h // ph, w // pw
    blocks = x[:, :, :ph * sh, :pw * sw].reshape(n, -1, ph, sh, pw, sw)
    pooled = blocks.amax(dim=(3, 5)) if module.pool == 'max' else \
        blocks.mean(dim=(3, 5))
    q, k, v = (t.flatten(2).transpose(1, 2) for t in unit.project(pooled))
    weights = torch.softmax(q @ k.transpose(1, 2) / 4**0.5, dim=-1)
    context = (weights @ v).transpose(1, 2).reshape(n, -1, ph, pw)
    return F.interpolate(
        unit.out_project(context), (h, w), mode='bilinear', align_corners=True)


@pytest.mark.parametrize('pool', ['max', 'avg'])
@pytest.mark.parametrize('size, pooled', [((8, 6), (4, 3)), ((9, 7), (4, 3)),
                                          ((1, 5), (1, 2))])
def test_matches_brute_force(pool, size, pooled):
    module = build(pool=pool, fused_attn=False)
    x = torch.randn(2, 6, *size, dtype=torch.float64)
    out = module(x)
    assert out.shape == (2, 7, *size)
    torch.testing.assert_close(out, brute_force(module, x, pooled))


def test_scale_one_is_dense_self_attention():
    module = build(scale=1)
    unit = SelfAttentionUnit(6, 4, 5, 7).double().eval()
    unit.load_state_dict(module.attention.state_dict())
    x = torch.randn(2, 6, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(module(x), unit(x))


def test_fused_and_explicit_agree():
    module = build()
    x = torch.randn(1, 6, 8, 8, dtype=torch.float64)
    fused = module(x)
    module.attention.fused_attn = False
    torch.testing.assert_close(fused, module(x))


@pytest.mark.parametrize(
    'kwargs, error, words',
    [(dict(scale=0), ValueError, 'scale must be a positive int'),
     (dict(pool='min'), ValueError, 'pool must be one of'),
     (dict(align_corners=1), TypeError, 'align_corners must be True')],
    ids=str)
def test_bad_arguments_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        DownsampledSelfAttention(6, 4, **kwargs)
