"""mmctx.visualization maps, checked in float64 against brute forces built
here from the layers' own projections: dense attention matrices of each ISA
step over the padded grid (groups from the paper's Fig. 5 by coordinates),
the SR reasoned feature's node channels, and PCA by SVD."""
import pytest
import torch
import torch.nn.functional as F

from mmctx.deployment import randomise_
from mmctx.models.layers import InterlacedSparseAttention, ISABlock, SRBlock
from mmctx.visualization import (PCAProjection, feature_pca, isa_attention,
                                 sr_node_maps)

pytestmark = pytest.mark.smoke


def randomise(module, seed=0):
    """Random weights and norm statistics, nothing at its initial value;
    float64, eval mode."""
    return randomise_(module, seed).double().eval()


def same_group(grid, down_factor, step):
    """(P, P) bool: positions of the padded grid in one group of ``step``."""
    (hp, wp), (dh, dw) = grid, down_factor
    rows = torch.arange(hp).repeat_interleave(wp)
    cols = torch.arange(wp).repeat(hp)
    if step == 'long':
        key = (rows % dh) * dw + cols % dw
    else:
        key = (rows // dh) * (wp // dw) + cols // dw
    return key[:, None] == key[None, :]


def dense_step(unit, x, groups, real=None):
    """Dense (N, P, P) weights of one step on the padded map ``x``; keys
    outside ``real`` (P,) masked."""
    query, key, _ = (t.flatten(2).transpose(1, 2) for t in unit.project(x))
    logits = query @ key.transpose(1, 2) * unit.key_channels**-0.5
    allowed = groups if real is None else groups & real[None, :]
    return logits.masked_fill(~allowed, float('-inf')).softmax(-1)


def brute_force(layer, x):
    """Both steps' dense weights, the padded grid's crop and the layer's
    output recomputed from them."""
    (height, width), (dh, dw) = x.shape[-2:], layer.down_factor
    if layer.mask_padding:
        dh, dw = min(dh, height), min(dw, width)
    hp, wp = -(-height // dh) * dh, -(-width // dw) * dw
    top, left = (hp - height) // 2, (wp - width) // 2
    pad = (left, wp - width - left, top, hp - height - top)
    real = F.pad(torch.ones(height, width, dtype=torch.bool), pad).flatten()
    steps = layer.order.split('_')
    units = [getattr(layer, f'{step}_range') for step in steps]
    weights = []
    if layer.mask_padding:
        # projections of the real positions, padded with zero vectors
        query, key, value = (F.pad(t, pad) for t in units[0].project(x))
        query, key, value = (
            t.flatten(2).transpose(1, 2) for t in (query, key, value))
        logits = query @ key.transpose(1, 2) * units[0].key_channels**-0.5
        allowed = same_group((hp, wp), (dh, dw), steps[0]) & real[None, :]
        weights.append(logits.masked_fill(~allowed, float('-inf')).softmax(-1))
    else:
        x = F.pad(x, pad)
        weights.append(
            dense_step(units[0], x, same_group((hp, wp), (dh, dw), steps[0])))
        value = units[0].project(x)[2].flatten(2).transpose(1, 2)
    n = x.size(0)
    y = units[0].out_project(
        (weights[0] @ value).transpose(1, 2).reshape(n, -1, hp, wp))
    weights.append(
        dense_step(units[1], y, same_group((hp, wp), (dh, dw), steps[1])))
    value = units[1].project(y)[2].flatten(2).transpose(1, 2)
    out = units[1].out_project(
        (weights[1] @ value).transpose(1, 2).reshape(n, -1, hp, wp))
    crop = (slice(top, top + height), slice(left, left + width), (hp, wp))
    return weights, crop, out[..., crop[0], crop[1]]


def row_map(matrix, position, crop):
    """Row ``position`` of (N, P, P) as cropped (N, H, W) maps."""
    return matrix[:, position].view(-1, *crop[2])[:, crop[0], crop[1]]


CASES = [
    # size, down factor, order, mask_padding
    ((8, 8), (4, 4), 'long_short', True),
    ((7, 10), (4, 4), 'long_short', True),  # padded both ways
    ((9, 6), (4, 3), 'short_long', True),
    ((7, 10), (4, 4), 'long_short', False),  # the public code's padding
    ((3, 5), (4, 4), 'long_short', True),  # smaller than the down factor
]


@pytest.mark.parametrize('size,down_factor,order,mask_padding', CASES)
def test_isa_attention_is_the_product_of_the_dense_steps(
        size, down_factor, order, mask_padding):
    layer = randomise(
        InterlacedSparseAttention(
            6,
            4,
            down_factor=down_factor,
            order=order,
            mask_padding=mask_padding))
    x = torch.randn(2, 6, *size, dtype=torch.float64)
    (first, second), crop, out = brute_force(layer, x)
    # the brute force is the layer: its output from the dense weights
    torch.testing.assert_close(out, layer(x), rtol=1e-10, atol=1e-12)
    top, left = crop[0].start, crop[1].start
    for pixel in [(0, 0), (size[0] - 1, size[1] - 1), (size[0] // 2, 1)]:
        maps = isa_attention(layer, x, pixel)
        position = (top + pixel[0]) * crop[2][1] + left + pixel[1]
        expected = row_map(second @ first, position, crop)
        torch.testing.assert_close(
            maps.attention, expected, rtol=1e-10, atol=1e-13)
        torch.testing.assert_close(
            maps.first, row_map(first, position, crop), rtol=1e-10, atol=1e-13)
        torch.testing.assert_close(
            maps.second,
            row_map(second, position, crop),
            rtol=1e-10,
            atol=1e-13)
        assert maps.steps == tuple(order.split('_'))
        total = maps.attention.sum(dim=(1, 2)) + maps.padded_weight
        torch.testing.assert_close(total, torch.ones(2, dtype=x.dtype))
        # every input position reaches the pixel through the two steps
        assert (maps.attention > 0).all()
        if mask_padding:
            torch.testing.assert_close(
                maps.padded_weight,
                torch.zeros(2, dtype=x.dtype),
                rtol=0,
                atol=1e-12)
    if not mask_padding:  # zeros padded around the map take weight
        assert (maps.padded_weight > 1e-3).all()


def test_isa_attention_reaches_the_attention_of_a_block():
    block = randomise(ISABlock(16, reduction=2, down_factor=(2, 2)))
    x = torch.randn(1, 16, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(
        isa_attention(block, x, (2, 3)).attention,
        isa_attention(block.attention, x, (2, 3)).attention)


@pytest.mark.parametrize('pixel,message', [((5, 0), r'\(5, 0\) lies outside'),
                                           ((0, -1), 'outside'),
                                           ((1.0, 2), r'two ints, got'),
                                           ((1, ), 'two ints')])
def test_isa_attention_names_a_bad_pixel(pixel, message):
    layer = InterlacedSparseAttention(4, 2, down_factor=2).eval()
    with pytest.raises(ValueError, match=message):
        isa_attention(layer, torch.randn(1, 4, 5, 5), pixel)


def test_maps_name_an_input_of_the_wrong_width():
    with pytest.raises(
            ValueError,
            match=r'SRBlock expects input of shape '
            r'\(N, in_channels=8, H, W\), got \(1, 6, 4, 4\)'):
        sr_node_maps(SRBlock(8, num_nodes=2), torch.randn(1, 6, 4, 4))
    with pytest.raises(
            ValueError,
            match='InterlacedSparseAttention expects '
            r'input of shape \(N, in_channels=4'):
        isa_attention(
            InterlacedSparseAttention(4, 2).eval(), torch.randn(1, 6, 4, 4),
            (0, 0))


def test_isa_attention_refuses_another_layer():
    with pytest.raises(TypeError, match='got SRBlock'):
        isa_attention(SRBlock(8, num_nodes=2), torch.randn(1, 8, 4, 4), (0, 0))


@pytest.mark.parametrize('node_order', ['contiguous', 'strided'])
def test_sr_node_maps_pick_each_groups_most_salient_channel(node_order):
    block = randomise(
        SRBlock(
            16, ratio=2, num_nodes=4, node_order=node_order, zero_init=False))
    x = torch.randn(2, 16, 5, 7, dtype=torch.float64)
    maps = sr_node_maps(block, x)
    reduced = block.reduce(x)
    residual = block.residual(x)
    assert maps.shape == (2, 4, 5, 7)
    # the reasoned feature behind the maps is what W_R projects
    reasoned = block.reasoned_feature(x)
    torch.testing.assert_close(block.out_proj(reasoned), residual)
    for n in range(2):
        for node in range(4):
            channels = range(node * 2, node * 2 + 2)
            salience = [reasoned[n, c].abs().mean() for c in channels]
            best = channels[max(range(2), key=salience.__getitem__)]
            torch.testing.assert_close(maps[n, node], reasoned[n, best])
    # the maps are rescaled reduced channels, not the input's
    assert not torch.allclose(maps[:, 0], reduced[:, 0])


def test_pca_matches_svd_and_shares_one_projection():
    gen = torch.Generator().manual_seed(0)
    mixing = torch.randn(3, 8, generator=gen, dtype=torch.float64)
    latent = torch.randn(2, 3, 6, 5, generator=gen, dtype=torch.float64)
    latent *= torch.tensor([5., 2., 1.], dtype=torch.float64)[None, :, None,
                                                              None]
    features = torch.einsum('nkhw,kc->nchw', latent, mixing)
    vectors = features.permute(0, 2, 3, 1).reshape(-1, 8)
    centred = vectors - vectors.mean(0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    projected = centred @ vh[:3].T
    rgb = feature_pca(features)
    assert rgb.shape == (2, 3, 6, 5)
    assert rgb.min() == 0 and rgb.max() == 1
    got = rgb.permute(0, 2, 3, 1).reshape(-1, 3)
    for c in range(3):  # the same component up to its sign and scaling
        expected = projected[:, c]
        expected = (expected - expected.min()) / (
            expected.max() - expected.min())
        flipped = 1 - expected
        assert min((got[:, c] - expected).abs().max(),
                   (got[:, c] - flipped).abs().max()) < 1e-10
    # fitted on input and output: the output's colours use the input's axes
    output = features * 0.5
    projection = PCAProjection([features, output])
    torch.testing.assert_close(
        feature_pca(output, fit_on=[features, output]), projection(output))
    assert not torch.allclose(projection(output), feature_pca(output))


def test_pca_names_bad_arguments():
    with pytest.raises(ValueError, match=r'k must be an int in \[1, 4\]'):
        feature_pca(torch.randn(1, 4, 3, 3), k=5)
    with pytest.raises(ValueError, match='fitted on 4'):
        PCAProjection(torch.randn(1, 4, 3, 3))(torch.randn(1, 5, 3, 3))
