"""Interlaced Sparse Self-Attention (mmctx.models.layers.isa).

Checked by value against independent references written here: dense
self-attention, a naive loop over the paper's groups (Fig. 5), and mmseg's
own ISAHead code.
"""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from mmctx.models.layers import (InterlacedSparseAttention, ISABlock,
                                 ISAModule, SelfAttentionUnit)

pytestmark = pytest.mark.smoke  # the block maths: fast

BN = dict(type='BN')


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def randomise(module, seed=0):
    """Random weights and BN statistics (so that no layer is trivial), at a
    scale (1 / sqrt(fan in)) that saturates neither softmax nor ReLU."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            fan_in = param[0].numel() if param.dim() > 1 else 4
            param.copy_(torch.randn(param.shape, generator=gen) / fan_in**0.5)
        for buf_name, buf in module.named_buffers():
            if buf_name.endswith('running_mean'):
                buf.copy_(torch.randn(buf.shape, generator=gen) * 0.1)
            elif buf_name.endswith('running_var'):
                buf.copy_(torch.rand(buf.shape, generator=gen) + 0.5)
    return module


def dense_attention(unit, x):
    """softmax(QK^T / sqrt(C_k)) V of ``unit`` over all positions of ``x``."""
    query, key, value = (t.flatten(2).transpose(1, 2) for t in unit.project(x))
    attn = (query @ key.transpose(1, 2)) * unit.key_channels**-0.5
    return attn.softmax(-1) @ value


def dense_reference(unit, x):
    n, _, h, w = x.shape
    context = dense_attention(unit, x).transpose(1, 2).reshape(n, -1, h, w)
    return unit.out_project(context)


def paper_groups(padded_size, down_factor, step):
    """Groups of positions of the padded grid, as in paper Fig. 5 / mmseg:
    long: the same offset in every ``down_factor`` window; short: a window."""
    (hp, wp), (dh, dw) = padded_size, down_factor
    gh, gw = hp // dh, wp // dw
    if step == 'long':
        return [[(i * dh + a, j * dw + b) for i in range(gh)
                 for j in range(gw)] for a in range(dh) for b in range(dw)]
    return [[(a * dh + i, b * dw + j) for i in range(dh) for j in range(dw)]
            for a in range(gh) for b in range(gw)]


def naive_grouped_attention(unit, query, key, value, groups, real=None):
    """Attention of every member of each group over the members whose
    ``real`` flag is set (over all members when none is), group by group."""
    context = value.new_zeros(value.shape)
    for members in groups:
        rows, cols = (torch.tensor(c) for c in zip(*members))
        keep = real[rows, cols] if real is not None else \
            torch.ones(len(members), dtype=torch.bool)
        assert keep.any(), f'a group without a real position: {members}'

        q = query[:, :, rows, cols].transpose(1, 2)
        k = key[:, :, rows[keep], cols[keep]].transpose(1, 2)
        v = value[:, :, rows[keep], cols[keep]].transpose(1, 2)
        attn = (q @ k.transpose(1, 2)) * unit.key_channels**-0.5
        context[:, :, rows, cols] = (attn.softmax(-1) @ v).transpose(1, 2)
    return context


def naive_isa(isa, x):
    """ISA with mask_padding=True, by its definition: the first step
    projects the real positions, pads zeros (queries of padded positions are
    zero) and excludes padded keys; the second step runs on the padded grid.
    The down factor is clipped to the map."""
    n, _, h, w = x.shape
    (dh, dw), (first, second) = isa.down_factor, isa.order.split('_')
    dh, dw = min(dh, h), min(dw, w)
    hp, wp = -(-h // dh) * dh, -(-w // dw) * dw
    top, left = (hp - h) // 2, (wp - w) // 2
    real = torch.zeros(hp, wp, dtype=torch.bool)
    real[top:top + h, left:left + w] = True

    def embed(t):
        padded = t.new_zeros(n, t.size(1), hp, wp)
        padded[:, :, top:top + h, left:left + w] = t
        return padded

    unit = isa.long_range if first == 'long' else isa.short_range
    qkv = (embed(t) for t in unit.project(x))
    x = unit.out_project(
        naive_grouped_attention(unit, *qkv,
                                paper_groups((hp, wp), (dh, dw), first), real))
    unit = isa.long_range if second == 'long' else isa.short_range
    x = unit.out_project(
        naive_grouped_attention(unit, *unit.project(x),
                                paper_groups((hp, wp), (dh, dw), second)))
    return x[:, :, top:top + h, left:left + w]


def build_isa(**kwargs):
    cfg = dict(in_channels=6, key_channels=4, value_channels=5, out_channels=7)
    cfg.update(kwargs)
    return randomise(InterlacedSparseAttention(**cfg)).eval()


# --------------------------------------------------------------- references
def test_unit_forward_is_dense_self_attention():
    unit = randomise(SelfAttentionUnit(6, 4, 5, 7)).eval()
    x = torch.randn(2, 6, 5, 7)
    expected = dense_reference(unit, x)
    torch.testing.assert_close(unit(x), expected)
    unit.fused_attn = False
    torch.testing.assert_close(unit(x), expected)


@pytest.mark.parametrize('fused_attn', [True, False])
def test_one_group_covering_the_map_is_dense_attention(fused_attn):
    x = torch.randn(2, 6, 6, 10)
    # one short-range window covering the map; long-range groups of 1
    isa = build_isa(down_factor=(6, 10), fused_attn=fused_attn)
    long = isa.long_range
    pointwise = long.out_project(long.value_project(x))
    expected = dense_reference(isa.short_range, pointwise)
    torch.testing.assert_close(isa(x), expected)
    # one long-range group (interval 1) covering the map; windows of 1
    isa = build_isa(down_factor=1, fused_attn=fused_attn)
    short = isa.short_range
    expected = short.out_project(
        short.value_project(dense_reference(isa.long_range, x)))
    torch.testing.assert_close(isa(x), expected)


@pytest.mark.parametrize('order', ['long_short', 'short_long'])
@pytest.mark.parametrize('size,down_factor', [((8, 12), (4, 3)),
                                              ((8, 12), (2, 4)),
                                              ((13, 17), (4, 4)),
                                              ((13, 17), (3, 8)),
                                              ((5, 6), (8, 8))])
def test_matches_naive_group_loops(order, size, down_factor):
    """Divisible sizes: the permutations of paper Fig. 5. Other sizes: the
    definition of mask_padding=True (no padded key in the first step, zero
    queries at padded positions, no input padding anywhere, so the output
    cannot depend on the padding); (5, 6) is smaller than (8, 8): the down
    factor is clipped to it."""
    isa = build_isa(down_factor=down_factor, order=order)
    x = torch.randn(2, 6, *size)
    torch.testing.assert_close(isa(x), naive_isa(isa, x))


def clipped_copy(module, size):
    """``module`` with every down factor clipped to ``size``, same weights."""
    clipped = copy.deepcopy(module)
    for m in clipped.modules():
        if isinstance(m, InterlacedSparseAttention):
            m.down_factor = tuple(
                min(d, s) for d, s in zip(m.down_factor, size))
    return clipped


SMALL_MAPS = [((5, 8), (8, 8)), ((3, 20), (8, 8)), ((12, 2), (4, 6)),
              ((1, 1), (8, 8))]


@pytest.mark.parametrize('fused_attn', [True, False])
@pytest.mark.parametrize('order', ['long_short', 'short_long'])
@pytest.mark.parametrize('size,down_factor', SMALL_MAPS)
def test_a_map_smaller_than_the_down_factor_equals_it_clipped(
        size, down_factor, order, fused_attn):
    """Padding a 5x8 map to (8, 8) left long-range groups without a real
    position, whose out_project(0) the second step spread to every real
    position (38% relative difference)."""
    isa = build_isa(
        down_factor=down_factor, order=order, fused_attn=fused_attn)
    x = torch.randn(2, 6, *size)
    expected = clipped_copy(isa, size)(x)
    torch.testing.assert_close(isa(x), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(isa(x), naive_isa(isa, x))


def _isa_head(down_factor):
    from mmctx.models.decode_heads import ISAHead
    return ISAHead(
        isa_channels=8,
        down_factor=down_factor,
        in_channels=32,
        channels=16,
        num_classes=3)


#: Every user of the attention, built for a down factor, and how it is
#: called on a feature map.
SMALL_MAP_OWNERS = {
    'ISABlock': (lambda f: ISABlock(32, down_factor=f), lambda m, x: m(x)),
    'ISAModule':
    (lambda f: ISAModule(32, 8, 16, down_factors=(f,
                                                  (2, 2))), lambda m, x: m(x)),
    'ISAHead': (_isa_head, lambda m, x: m([x])),
}


@pytest.mark.parametrize('owner', SMALL_MAP_OWNERS)
@pytest.mark.parametrize('size,down_factor', SMALL_MAPS[:2])
def test_blocks_and_heads_on_small_maps_equal_them_clipped(
        size, down_factor, owner):
    """The plugin, the module (with a second factor) and the head give what
    the clipped down factor gives (the attention itself: above)."""
    build, call = SMALL_MAP_OWNERS[owner]
    module = randomise(build(down_factor)).eval()
    x = torch.randn(2, 32, *size)
    with torch.no_grad():
        torch.testing.assert_close(
            call(module, x),
            call(clipped_copy(module, size), x),
            rtol=1e-6,
            atol=1e-6)


def test_unmasked_small_map_pads_like_mmseg():
    """mask_padding=False keeps the public code's padding: the result is not
    the clipped one (it is mmseg's, checked in the head tests)."""
    isa = build_isa(down_factor=(8, 8), mask_padding=False)
    x = torch.randn(1, 6, 5, 8)
    assert not torch.allclose(isa(x), clipped_copy(isa, (5, 8))(x))


@pytest.mark.parametrize('value_channels', [4, 5])  # CPU: fused | math SDPA
@pytest.mark.parametrize('mask_padding', [True, False])
@pytest.mark.parametrize('size', [(8, 8), (13, 17), (5, 6)])
def test_fused_equals_explicit(mask_padding, size, value_channels):
    isa = build_isa(
        down_factor=(4, 8),
        mask_padding=mask_padding,
        value_channels=value_channels)
    x = torch.randn(2, 6, *size, requires_grad=True)
    fused = isa(x)
    grad_fused, = torch.autograd.grad(fused.square().sum(), x)
    for unit in (isa.long_range, isa.short_range):
        unit.fused_attn = False
    explicit = isa(x)
    grad_explicit, = torch.autograd.grad(explicit.square().sum(), x)
    assert torch.isfinite(fused).all()
    torch.testing.assert_close(fused, explicit)
    torch.testing.assert_close(grad_fused, grad_explicit)


def _sdpa_kernels(fn):
    with torch.profiler.profile() as prof:
        fn()
    return {e.name for e in prof.events() if 'scaled_dot_product' in e.name}


def test_padding_mask_keeps_the_fused_cpu_kernel():
    """The (1, G, 1, L) key mask is one the fused CPU kernel accepts (a 3-D
    one sends SDPA to its math path, which materialises the attention)."""
    fused = 'aten::_scaled_dot_product_flash_attention_for_cpu'
    q = torch.randn(1, 2, 8, 4)
    if fused not in _sdpa_kernels(
            lambda: F.scaled_dot_product_attention(q, q, q)):
        pytest.skip(f'this torch has no {fused}')
    isa = build_isa(value_channels=4, down_factor=(4, 4))
    with torch.no_grad():
        kernels = _sdpa_kernels(lambda: isa(torch.randn(1, 6, 13, 17)))
    assert fused in kernels and not any('math' in k for k in kernels)


def test_padding_masked_in_training_mode_too():
    """In training mode BN statistics come from the real positions only."""
    isa = build_isa(down_factor=(4, 4)).train()
    x = torch.randn(2, 6, 13, 17)
    torch.testing.assert_close(isa(x), naive_isa(isa, x), atol=1e-4, rtol=0)


def saved_activation_elements(module, x):
    """Elements of the activation maps autograd keeps for the backward of
    ``module(x)`` (each storage once; weights and norm statistics left
    out)."""
    params = {p.data_ptr() for p in module.parameters()}
    seen = {}

    def pack(tensor):
        if tensor.dim() > 1 and tensor.data_ptr() not in params:
            seen[tensor.data_ptr()] = tensor.numel()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x)
    return sum(seen.values())


def test_training_keeps_one_copy_of_each_query_and_key():
    """Per step: its input; per projection (query, key) the conv outputs and
    activation of its first layer, its second conv's output (BatchNorm's
    input) and one grouped activated copy, which both the activation and
    the attention keep (an in-place ReLU keeps its output); the grouped
    value; the attention weights; the output projection's input, BatchNorm
    input and activation. The step input of the second step is the first
    step's output, kept once."""
    isa = InterlacedSparseAttention(
        16,
        4,
        value_channels=8,
        out_channels=8,
        down_factor=(4, 4),
        fused_attn=False).double().train()
    x = torch.randn(1, 16, 16, 16, dtype=torch.float64, requires_grad=True)
    positions = 16 * 16
    key, value, out = 4, 8, 8
    attention = 16 * 16 * 16  # 16 groups of 16 positions, both steps
    step = (2 * 4 * key + 2 * value + 2 * out) * positions + attention
    assert saved_activation_elements(isa, x) == 16 * positions + 2 * step


def test_mask_padding_false_differs_from_masked():
    isa = build_isa(down_factor=(4, 4))
    x = torch.randn(1, 6, 13, 17)
    unmasked = copy.deepcopy(isa)
    unmasked.mask_padding = False
    masked_out = isa(x)
    assert (masked_out - unmasked(x)).abs().max() > 1e-2 * masked_out.std()


def _mmseg_isa_head(channels, isa_channels, down_factor):
    from mmseg.models.decode_heads import ISAHead
    head = ISAHead(
        isa_channels=isa_channels,
        down_factor=down_factor,
        in_channels=channels,
        channels=channels,
        num_classes=3,
        norm_cfg=BN)
    return randomise(head)


@pytest.mark.parametrize('training', [False, True])
@pytest.mark.parametrize('size', [(97, 97), (13, 17)])
def test_mask_padding_false_reproduces_mmseg_isahead(size, training):
    channels, isa_channels = 8, 4
    head = _mmseg_isa_head(channels, isa_channels, (8, 8)).train(training)
    captured = {}
    head.in_conv.register_forward_hook(
        lambda m, i, out: captured.__setitem__('x', out))
    head.out_conv.register_forward_hook(
        lambda m, i, out: captured.__setitem__('context', i[0][:, :channels]))
    isa = InterlacedSparseAttention(
        channels, isa_channels, value_bias=True, mask_padding=False)
    for ours, theirs in ((isa.long_range, head.global_relation),
                         (isa.short_range, head.local_relation)):
        state = {
            k.replace('output_project', 'out_project'): v
            for k, v in theirs.state_dict().items()
        }
        ours.load_state_dict(state, strict=True)
    isa.train(training)
    if training:  # BN batch statistics are summed in another order: float64
        head.double()
        isa.double()
    dtype = torch.float64 if training else torch.float32
    head([torch.randn(1, channels, *size, dtype=dtype)])
    out = isa(captured['x'])
    assert out.shape == captured['context'].shape
    assert (out - captured['context']).abs().max() < 1e-5
    if training:  # BN running statistics were updated identically
        torch.testing.assert_close(
            isa.short_range.out_project.bn.running_mean,
            head.local_relation.output_project.bn.running_mean)


# ----------------------------------------------------------- connectivity
def assert_every_output_depends_on_every_input(module, channels, size):
    """One backward pass: batch element b asks for the gradient of output
    position b (all channels) w.r.t. its input copy."""
    h, w = size
    module.eval()  # BN in eval mode: no coupling through batch statistics
    x = torch.randn(1, channels, h, w).expand(h * w, -1, -1, -1).clone()
    x.requires_grad_(True)
    out = module(x)
    select = torch.eye(h * w).view(h * w, 1, h, w)
    (out * select).sum().backward()
    dependence = x.grad.abs().sum(1).flatten(1)  # (output pos, input pos)
    assert (dependence > 0).all(), (dependence == 0).sum()


@pytest.mark.parametrize('order', ['long_short', 'short_long'])
def test_isa_output_depends_on_every_input_position(order):
    isa = build_isa(down_factor=(4, 4), order=order)
    assert_every_output_depends_on_every_input(isa, 6, (13, 17))


def test_isa_block_output_depends_on_every_input_position():
    block = randomise(ISABlock(64, down_factor=(4, 8)))  # as if trained
    assert_every_output_depends_on_every_input(block, 64, (13, 17))


# ------------------------------------------------------------------ ISABlock
@pytest.mark.parametrize('norm_cfg', [None, dict(type='GN', num_groups=4)])
def test_isa_block_learns_from_its_zeroed_projection(norm_cfg):
    """(Identity at init: test_residual.py.)"""
    block = ISABlock(32, reduction=4, down_factor=(4, 4), norm_cfg=norm_cfg)
    x = torch.randn(1, 32, 7, 9)
    zeroed = block.conv_out.norm if norm_cfg else block.conv_out.conv
    assert zeroed.weight.abs().sum() == 0
    # batch size 1 trains: the zero projection gets a gradient, then moves
    optim = torch.optim.SGD(block.parameters(), lr=0.1)
    target = torch.randn_like(x)
    losses = []
    for _ in range(2):
        loss = (block(x) - target).square().mean()
        optim.zero_grad()
        loss.backward()
        assert zeroed.weight.grad.abs().sum() > 0
        optim.step()
        losses.append(loss.item())
    assert losses[1] < losses[0]
    assert not torch.equal(block(x), x)


def test_isa_block_bf16_autocast_and_backward():
    block = randomise(ISABlock(32, down_factor=(4, 4)))
    x = torch.randn(2, 32, 13, 17, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x)
    assert torch.isfinite(out).all()
    out.float().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# ----------------------------------------------------------------- ISAModule
@pytest.mark.parametrize('order', ['long_short', 'short_long'])
@pytest.mark.parametrize('down_factors', [((8, 8), ), ((8, 8), (4, 4))])
@pytest.mark.parametrize('fusion', ['concat', 'residual'])
def test_isa_module_variants_train_one_step(order, down_factors, fusion):
    module = ISAModule(
        16, 8, 16, down_factors=down_factors, fusion=fusion, order=order)
    assert len(module.stages) == len(down_factors)
    x = torch.randn(1, 16, 13, 17)
    out = module(x)
    assert out.shape == (1, 16, 13, 17) and torch.isfinite(out).all()
    before = [p.detach().clone() for p in module.parameters()]
    optim = torch.optim.SGD(module.parameters(), lr=0.1)
    out.square().mean().backward()
    optim.step()
    changed = [
        not torch.equal(b, p) for b, p in zip(before, module.parameters())
    ]
    assert all(changed), sum(changed)
    module.eval()
    if fusion == 'concat':
        ctx = [stage(x) for stage in module.stages]
        expected = module.fuse(torch.cat([x, *ctx], 1))
    else:
        ctx = torch.cat([stage(x) for stage in module.stages], 1)
        expected = x + module.fuse(ctx)
    torch.testing.assert_close(module(x), expected)


def test_isa_module_parameter_count():
    c_in, c_k, c_out = 512, 256, 512

    def unit(c_in):
        key_query = c_in * c_k + c_k * c_k + 2 * 2 * c_k  # 2 convs + 2 BN
        return 2 * key_query + c_in * c_out + (c_out * c_out + 2 * c_out)

    fuse = (c_in + c_out) * c_out + 2 * c_out
    expected = unit(c_in) + unit(c_out) + fuse
    module = ISAModule(c_in, c_k, c_out)
    assert sum(p.numel() for p in module.parameters()) == expected == 2366464


# ----------------------------------------------------------- registry, errors
@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_registry_and_build_plugin_layer(scope):
    from mmcv.cnn import build_plugin_layer
    from mmengine.registry import MODELS
    block = MODELS.build(dict(type='ISABlock', in_channels=64))
    assert isinstance(block, ISABlock) and block.in_channels == 64
    with DefaultScope.overwrite_default_scope(scope):
        name, layer = build_plugin_layer(
            dict(type='ISABlock', reduction=2), postfix=1, in_channels=64)
    assert name == 'isa_block1' and isinstance(layer, ISABlock)
    assert layer.attention.long_range.value_channels == 32
    x = torch.randn(1, 64, 3, 5)
    assert torch.equal(layer(x), x)


@pytest.mark.parametrize('kwargs,argument', [
    (dict(order='long'), 'order'),
    (dict(down_factor=0), 'down_factor'),
    (dict(down_factor=(8, -1)), 'down_factor'),
    (dict(down_factor=(8, 8, 8)), 'down_factor'),
    (dict(down_factor=(8.0, 8)), 'down_factor'),
    (dict(down_factor='8'), 'down_factor'),
    (dict(key_channels=0), 'key_channels'),
    (dict(value_channels=-1), 'value_channels'),
    (dict(out_channels=2.5), 'out_channels'),
])
def test_bad_arguments_raise_value_error(kwargs, argument):
    cfg = dict(in_channels=8, key_channels=4)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=argument):
        InterlacedSparseAttention(**cfg)


@pytest.mark.parametrize('kwargs,argument', [
    (dict(fusion='sum'), 'fusion'),
    (dict(fusion='residual', out_channels=4), 'out_channels'),
    (dict(down_factors=()), 'down_factors'),
    (dict(down_factors=((8, 8), (0, 4))), r'down_factors\[1\]'),
    (dict(dropout_ratio=1.0), 'dropout_ratio'),
])
def test_isa_module_bad_arguments(kwargs, argument):
    cfg = dict(in_channels=8, key_channels=4, out_channels=8)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=argument):
        ISAModule(**cfg)


@pytest.mark.parametrize('down_factor', [0, -3, (8, 0)])
def test_bad_down_factor_error_names_the_value_written(down_factor):
    with pytest.raises(ValueError) as error:
        ISABlock(8, down_factor=down_factor)
    assert str(error.value).endswith(f'got {down_factor!r}')


def test_reduction_larger_than_the_channels_is_refused():
    with pytest.raises(
            ValueError, match='reduction=8 leaves no channel of '
            'in_channels=4'):
        ISABlock(4, reduction=8)


def test_wrong_input_channels_raise_value_error():
    with pytest.raises(ValueError, match='in_channels=8'):
        ISABlock(8)(torch.randn(1, 6, 4, 4))
    with pytest.raises(ValueError, match='reduction'):
        ISABlock(8, reduction=0)
    isa = InterlacedSparseAttention(8, 4)
    with pytest.raises(ValueError, match='in_channels=8'):
        isa(torch.randn(1, 8, 4))


def test_unit_state_dict_matches_mmseg_layout():
    keys = set(SelfAttentionUnit(8, 4, 8, 8, value_bias=True).state_dict())
    head = _mmseg_isa_head(8, 4, (8, 8))
    theirs = {
        k.replace('output_project', 'out_project')
        for k in head.global_relation.state_dict()
    }
    assert keys == theirs
