"""Tests of the Squeeze Reasoning block (SRNet, paper Sec. III-B), by value."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_plugin_layer
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.registry import MODELS, DefaultScope

from mmctx.models.layers import SRBlock
from mmctx.models.layers._options import RECORD
from mmctx.models.layers.sr import global_hadamard_pooling, vector_to_nodes

pytestmark = pytest.mark.smoke  # the block maths: fast

TABLE_III = [(squeeze, reasoning) for squeeze in ('gap', 'ghp')
             for reasoning in ('fc', 'gcn', 'attention', 'none')]


def randomised(block, seed=0):
    """The block with every parameter drawn at random (no zero-init)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in block.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
    return block


def tiny_block(**kwargs):
    kwargs.setdefault('in_channels', 16)
    kwargs.setdefault('num_nodes', 4)
    return SRBlock(**kwargs)


def inputs(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------
# Paper Table IV: costs at 512 head channels on a 96x96 map
# --------------------------------------------------------------------------
CONV_512_256_PARAMS = 512 * 256
CONV_512_256_MACS = 512 * 256 * 96 * 96  # 1.208e9, the paper's 1.21 G


@pytest.mark.parametrize(
    'squeeze,ghp_projections,num_convs,paper_g,paper_m',
    [
        ('gap', 1, 2, 2.43, 0.26),  # reduction + W_R
        ('ghp', 1, 3, 3.64, 0.40),  # + one projection pooled against X~
        ('ghp', 2, 4, None, None),  # public code: theta, phi, g, output
    ])
def test_table_iv_costs_are_two_or_three_1x1_convs(squeeze, ghp_projections,
                                                   num_convs, paper_g,
                                                   paper_m):
    block = SRBlock(512, squeeze=squeeze, ghp_projections=ghp_projections)
    x = torch.zeros(1, 512, 96, 96)
    macs = FlopAnalyzer(block, x).total()
    params = parameter_count(block)['']

    # Everything beyond the 1x1 convs (pooling, node reasoning) is < 0.2%.
    assert num_convs * CONV_512_256_MACS <= macs
    assert macs < num_convs * CONV_512_256_MACS * 1.002
    k, d = 16, 16
    conv_biases = (num_convs - 1) * 256 + 512
    gcn = k * k + d * d  # A_g and W_g
    assert params == num_convs * CONV_512_256_PARAMS + conv_biases + gcn
    if paper_g is not None:
        assert abs(macs / 1e9 - paper_g) / paper_g < 0.01
        assert abs(params / 1e6 - paper_m) < 0.006


def test_default_parameter_count_formula():
    c, ratio, k = 512, 2, 16
    reduced = c // ratio
    d = reduced // k
    convs = 2 * (c * reduced + reduced) + (reduced * c + c)  # X~, GHP, W_R
    gcn = k * k + d * d
    assert parameter_count(SRBlock(c))[''] == convs + gcn == 394752


# --------------------------------------------------------------------------
# Paper equations by value
# --------------------------------------------------------------------------
def naive_ghp(b, c):
    """Eq. 4 as written: the sum over positions i of b_i o c_i."""
    n, ch, h, w = b.shape
    total = torch.zeros(n, ch, dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            total += (b[:, :, i, j] * c[:, :, i, j]).double()
    return total


def test_ghp_equals_eq4_sum_and_its_mean():
    b, c = inputs(2, 5, 3, 4, seed=1), inputs(2, 5, 3, 4, seed=2)
    ref = naive_ghp(b, c)
    torch.testing.assert_close(
        global_hadamard_pooling(b, c, 'sum').double(), ref)
    torch.testing.assert_close(
        global_hadamard_pooling(b, c, 'mean').double(), ref / 12)


def conv1x1(x, conv_module):
    conv = conv_module.conv
    return torch.einsum('oc,nchw->nohw', conv.weight[:, :, 0, 0],
                        x) + conv.bias[None, :, None, None]


@pytest.mark.parametrize('ghp_projections', [1, 2])
def test_block_squeeze_pools_the_paper_maps(ghp_projections):
    block = randomised(tiny_block(ghp_projections=ghp_projections))
    x = inputs(2, 16, 5, 6)
    reduced = conv1x1(x, block.reduce)
    maps = [conv1x1(x, proj) for proj in block.ghp_projs]
    b, c = (reduced, maps[0]) if ghp_projections == 1 else maps
    with torch.no_grad():
        pooled = block.squeeze_nodes(x, block.reduce(x))
    torch.testing.assert_close(pooled, (naive_ghp(b, c) / 30).float())


def test_gap_squeeze_is_the_mean_of_reduced_features():
    block = randomised(tiny_block(squeeze='gap'))
    x = inputs(2, 16, 5, 6)
    with torch.no_grad():
        pooled = block.squeeze_nodes(x, block.reduce(x))
    torch.testing.assert_close(pooled, conv1x1(x, block.reduce).mean((2, 3)))


def test_gcn_reasoning_is_eq5():
    block = randomised(tiny_block(reasoning='gcn'))  # K=4, d=2
    gcn = block.reasoning
    nodes = inputs(3, 4, 2)
    a_g = gcn.adjacency.weight.T
    w_g = gcn.state_update.weight
    with torch.no_grad():
        out = gcn(nodes)
    for sample in range(3):
        g_in = nodes[sample].T  # d x K, one column per node
        ref = torch.relu(w_g @ g_in @ (torch.eye(4) - a_g))
        torch.testing.assert_close(out[sample].T, ref.detach())


def test_attention_reasoning_is_eq6_with_softmax_over_gathered_nodes():
    block = randomised(
        tiny_block(in_channels=24, reasoning='attention',
                   num_nodes=4))  # K=4, d=3
    att = block.reasoning
    nodes = inputs(2, 4, 3)
    with torch.no_grad():
        out = att(nodes)
        for sample in range(2):
            g = nodes[sample].T  # d x K
            rho = att.rho.weight @ g
            phi = att.phi.weight @ g
            theta = att.theta.weight @ g
            affinity = (phi.T @ theta) / 3**0.5  # (m, n) = phi_m . theta_n
            ref = torch.relu(rho @ affinity.softmax(dim=0))
            torch.testing.assert_close(out[sample].T, ref)


def test_fc_reasoning_is_one_dense_layer_over_the_vector():
    block = randomised(tiny_block(reasoning='fc'))
    nodes = inputs(2, 4, 2)
    with torch.no_grad():
        out = block.reasoning(nodes)
        ref = torch.relu(nodes.reshape(2, 8) @ block.reasoning.fc.weight.T)
    torch.testing.assert_close(out.reshape(2, 8), ref)


def test_block_output_is_eq7_written_out():
    block = randomised(tiny_block())  # ghp, gcn, contiguous, mean
    x = inputs(2, 16, 5, 7)
    with torch.no_grad():
        out = block(x)
        reduced = conv1x1(x, block.reduce)  # X~, 8 channels
        c = conv1x1(x, block.ghp_projs[0])
        g = (reduced * c).mean((2, 3))  # (N, 8)
        a_g = block.reasoning.adjacency.weight.T
        w_g = block.reasoning.state_update.weight
        reasoned = torch.stack([
            torch.relu(
                w_g @ g[s].reshape(4, 2).T @ (torch.eye(4) - a_g)).T.reshape(8)
            for s in range(2)
        ])
        ref = x + conv1x1(reduced * reasoned[:, :, None, None], block.out_proj)
    torch.testing.assert_close(out, ref)


# --------------------------------------------------------------------------
# Node order
# --------------------------------------------------------------------------
def public_code_split(vector, num_nodes):
    """SFSegNets: torch.split on the channel axis, cat on the feature axis."""
    return torch.cat(torch.split(vector[:, :, None], num_nodes, dim=1), dim=2)


def test_strided_nodes_are_the_public_code_split():
    vector = torch.arange(24.).reshape(1, 24)
    nodes = vector_to_nodes(vector, 4, 'strided')
    torch.testing.assert_close(nodes, public_code_split(vector, 4))
    assert nodes[0, 1].tolist() == [1., 5., 9., 13., 17., 21.]
    assert vector_to_nodes(
        vector, 4, 'contiguous')[0, 1].tolist() == [6., 7., 8., 9., 10., 11.]


@pytest.mark.parametrize('training', [True, False])
def test_public_code_cfg_computes_the_public_module(sfsegnets, training):
    """``public_code_cfg(512)`` against ``ChannelReasonModule(512, 256)``
    as the public code computes it, weights and norm statistics randomised
    and copied by role, in float64: the pooled sums of 99 products feed
    two norms, and outputs of order 5 agree to about 1e-12 (one option
    changed, ``node_order`` or ``ghp_scale``, moves them by about 6). In
    training the BatchNorm1d statistics are updated alike."""
    from mmctx.deployment import randomise_
    from mmctx.models.layers.sr import public_code_cfg
    public = randomise_(sfsegnets.ChannelReason(512, 256)).double()
    block = SRBlock(512, **public_code_cfg(512)).double()
    assert (sum(p.numel() for p in block.parameters()) == sum(
        p.numel() for p in public.parameters()) == 395920)
    sfsegnets.copy_block_weights(public, block)
    public.train(training)
    block.train(training)
    x = torch.randn(2, 512, 9, 11, dtype=torch.float64)
    torch.testing.assert_close(block(x), public(x), rtol=1e-12, atol=1e-12)
    for ours, theirs in ((block.reasoning.adjacency_norm, public.bn_adj),
                         (block.reasoning.state_norm, public.bn_wg)):
        torch.testing.assert_close(ours.state_dict(), theirs.state_dict())


def test_strided_order_is_contiguous_order_on_permuted_pooling_channels():
    # Public-code layout: phi and g are pooled, theta (X~) is rescaled, so the
    # strided split equals the contiguous one once the pooled channels are
    # permuted: node n feature j reads channel j*K + n.
    k, d = 4, 2
    strided = randomised(
        tiny_block(ghp_projections=2, node_order='strided'), seed=3)
    contiguous = copy.deepcopy(strided)
    contiguous.node_order = 'contiguous'
    perm = torch.tensor([j * k + n for n in range(k) for j in range(d)])
    with torch.no_grad():
        for proj in contiguous.ghp_projs:
            proj.conv.weight.copy_(proj.conv.weight[perm])
            proj.conv.bias.copy_(proj.conv.bias[perm])
    x = inputs(2, 16, 5, 6)
    with torch.no_grad():
        out_strided = strided(x)
        torch.testing.assert_close(contiguous(x), out_strided)
        contiguous_same_weights = copy.deepcopy(strided)
        contiguous_same_weights.node_order = 'contiguous'
        assert not torch.allclose(contiguous_same_weights(x), out_strided)


# --------------------------------------------------------------------------
# GHP scale: resolution independence
# --------------------------------------------------------------------------
@pytest.mark.parametrize('squeeze,ghp_scale,independent', [
    ('ghp', 'mean', True),
    ('gap', 'mean', True),
    ('ghp', 'sum', False),
])
def test_output_of_upsampled_input_is_upsampled_output(squeeze, ghp_scale,
                                                       independent):
    block = randomised(tiny_block(squeeze=squeeze, ghp_scale=ghp_scale))
    x = inputs(2, 16, 6, 5)
    up = F.interpolate(x, scale_factor=2, mode='nearest')
    with torch.no_grad():
        out_up = block(up)
        up_out = F.interpolate(block(x), scale_factor=2, mode='nearest')
        pooled_up = block.squeeze_nodes(up, block.reduce(up))
        pooled = block.squeeze_nodes(x, block.reduce(x))
    if independent:
        torch.testing.assert_close(out_up, up_out)
        torch.testing.assert_close(pooled_up, pooled)
    else:  # four copies of every position: four times the sum
        torch.testing.assert_close(pooled_up, 4 * pooled)
        assert (out_up - up_out).abs().max() > 0.1


# --------------------------------------------------------------------------
# Training: every Table III variant, gradients, batch size 1
# --------------------------------------------------------------------------
def sgd_losses(block, x, target, steps, lr=0.01):
    optimizer = torch.optim.SGD(block.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(block(x), target)
        loss.backward()
        for name, param in block.named_parameters():
            assert torch.isfinite(param.grad).all(), name
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize('squeeze,reasoning', TABLE_III)
def test_table_iii_variant_trains(squeeze, reasoning):
    torch.manual_seed(0)
    block = tiny_block(squeeze=squeeze, reasoning=reasoning)
    x, target = inputs(2, 16, 5, 6, seed=1), inputs(2, 16, 5, 6, seed=2)
    before = copy.deepcopy(block.state_dict())
    losses = sgd_losses(block, x, target, steps=3, lr=0.05)
    assert losses[2] < losses[1] < losses[0]
    changed = {
        name
        for name, value in block.state_dict().items()
        if not torch.equal(value, before[name])
    }
    # every parameter learns, from step two
    assert changed == set(before) - {RECORD}


def test_zero_init_branch_passes_gradient_to_earlier_layers_after_one_step():
    torch.manual_seed(0)
    block = tiny_block()
    x, target = inputs(2, 16, 5, 6, seed=1), inputs(2, 16, 5, 6, seed=2)
    optimizer = torch.optim.SGD(block.parameters(), lr=0.05)
    F.mse_loss(block(x), target).backward()
    assert block.out_proj.conv.weight.grad.abs().sum() > 0
    assert block.reduce.conv.weight.grad.abs().sum() == 0  # W_R = 0 blocks it
    optimizer.step()
    optimizer.zero_grad()
    F.mse_loss(block(x), target).backward()
    for module in (block.reduce, block.ghp_projs[0], block.reasoning):
        for param in module.parameters():
            assert param.grad.abs().sum() > 0


@pytest.mark.parametrize('squeeze', ['gap', 'ghp'])
def test_every_input_position_reaches_every_output_position(squeeze):
    block = randomised(tiny_block(squeeze=squeeze, zero_init=False))
    x = inputs(1, 16, 13, 17).requires_grad_()
    branch = block(x) - x
    branch[:, :, 0, 0].sum().backward()  # one output pixel
    assert (x.grad.abs().sum(dim=1) > 0).all()  # depends on all 13x17 inputs


def test_batch_size_one_trains_in_train_mode():
    torch.manual_seed(0)
    block = tiny_block(norm_cfg=dict(type='BN')).train()
    losses = sgd_losses(block, inputs(1, 16, 3, 3),
                        inputs(1, 16, 3, 3, seed=1), 3)
    assert losses[2] < losses[0]


# --------------------------------------------------------------------------
# Identity at initialisation, also inside ResNet-50 after init_weights()
# --------------------------------------------------------------------------
# --------------------------------------------------------------------------
# Dtypes
# --------------------------------------------------------------------------
@pytest.mark.parametrize('reasoning', ['gcn', 'attention', 'fc'])
def test_bf16_autocast_on_cpu_is_finite_and_close_to_fp32(reasoning):
    block = randomised(tiny_block(reasoning=reasoning, zero_init=False))
    x = inputs(2, 16, 13, 17).requires_grad_()
    ref = block(x).detach()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x)
    assert torch.isfinite(out).all()
    assert (out.float() - ref).abs().max() < 0.05 * ref.abs().max()
    out.float().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for param in block.parameters():
        assert torch.isfinite(param.grad).all()


def _cpu_has_fp16_conv():
    try:
        torch.nn.functional.conv2d(
            torch.ones(1, 1, 1, 1).half(),
            torch.ones(1, 1, 1, 1).half())
    except RuntimeError:  # torch 2.1: "slow_conv2d_cpu" not implemented
        return False
    return True


needs_fp16_conv = pytest.mark.skipif(
    not _cpu_has_fp16_conv(),
    reason=f'torch {torch.__version__} has no float16 convolution on the CPU')


@needs_fp16_conv
def test_fp16_mean_stays_finite_where_the_sum_overflows():
    x = 8 * inputs(1, 16, 64, 64)
    blocks = {
        scale: randomised(tiny_block(ghp_scale=scale, zero_init=False))
        for scale in ('mean', 'sum')
    }
    with torch.no_grad():
        pooled_sum = blocks['sum'].squeeze_nodes(x, blocks['sum'].reduce(x))
        assert pooled_sum.abs().max() > torch.finfo(torch.float16).max
        ref = blocks['mean'](x)
        out_mean = blocks['mean'].half()(x.half())
        out_sum = blocks['sum'].half()(x.half())
    assert out_mean.dtype == torch.float16
    assert (out_mean.float() - ref).abs().max() < 1e-2 * ref.abs().max()
    assert not torch.isfinite(out_sum).all()


@pytest.mark.parametrize('dtype,widened', [(torch.bfloat16, torch.float32),
                                           (torch.float32, torch.float32),
                                           (torch.float64, torch.float64)])
def test_pooling_accumulates_in_at_least_fp32_and_keeps_fp64(dtype, widened):
    """Low precision is widened to fp32; a float64 check is not cut down
    to fp32 on the way (it once was: 1e-8 errors in float64 tests)."""
    from mmctx.models.layers.sr import global_average_pooling
    x = (1 + 1e-3 * inputs(2, 3, 5, 7, seed=1).double()).to(dtype)
    b, c = x, inputs(2, 3, 5, 7, seed=2).to(dtype)
    gap = x.to(widened).mean(dim=(2, 3)).to(dtype)
    ghp = (b.to(widened) * c.to(widened)).mean(dim=(2, 3)).to(dtype)
    assert torch.equal(global_average_pooling(x), gap)
    # 35 products summed in another order: a few ulps of the widened type
    rtol = max(torch.finfo(dtype).eps, 64 * torch.finfo(widened).eps)
    torch.testing.assert_close(
        global_hadamard_pooling(b, c), ghp, rtol=rtol, atol=0)


@pytest.mark.parametrize(
    'dtype',
    [pytest.param(torch.float16, marks=needs_fp16_conv), torch.bfloat16])
def test_low_precision_weights_and_inputs(dtype):
    block = randomised(tiny_block(zero_init=False))
    x = inputs(2, 16, 13, 17)
    with torch.no_grad():
        ref = block(x)
        out = block.to(dtype)(x.to(dtype))
    assert out.dtype == dtype
    assert (out.float() - ref).abs().max() < 0.05 * ref.abs().max()


# --------------------------------------------------------------------------
# Registry and plugin building
# --------------------------------------------------------------------------
def test_builds_from_mmengine_root_registry():
    block = MODELS.build(dict(type='SRBlock', in_channels=64))
    assert isinstance(block, SRBlock)
    assert (block.channels, block.num_nodes, block.node_channels) == (32, 16,
                                                                      2)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_build_plugin_layer_under_default_scope(scope):
    with DefaultScope.overwrite_default_scope(scope):
        name, layer = build_plugin_layer(
            dict(type='SRBlock', reasoning='attention'),
            postfix='_1',
            in_channels=2048)
    assert name == 'sr_block_1'
    assert isinstance(layer, SRBlock)
    assert layer.in_channels == 2048 and layer.reasoning_mode == 'attention'


# --------------------------------------------------------------------------
# Argument checking
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(in_channels=0), 'in_channels'),
        (dict(in_channels=16.0), 'in_channels'),
        (dict(ratio=0), 'ratio'),
        (dict(ratio=-2), 'ratio'),
        (dict(ratio=3), 'ratio=3'),  # 16 / 3 is not whole
        (dict(ratio=32), 'ratio=32'),  # less than one channel
        (dict(num_nodes=0), 'num_nodes'),
        (dict(num_nodes=3), 'num_nodes=3 must divide'),
        (dict(squeeze='max'), "squeeze must be one of \\('gap', 'ghp'\\)"),
        (dict(reasoning='sa'), 'reasoning must be one of'),
        (dict(node_order='random'), 'node_order must be one of'),
        (dict(ghp_scale='avg'), 'ghp_scale must be one of'),
        (dict(ghp_projections=3), 'ghp_projections must be one of'),
    ])
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_block(**kwargs)


def test_non_bool_zero_init_raises_type_error():
    with pytest.raises(TypeError, match='zero_init'):
        tiny_block(zero_init=1)


@pytest.mark.parametrize('shape', [(2, 8, 5, 5), (16, 5, 5)])
def test_wrong_input_shape_raises_value_error(shape):
    with pytest.raises(ValueError, match=r'\(N, in_channels=16, H, W\)'):
        tiny_block()(torch.zeros(shape))


# --------------------------------------------------------------------------
# SRGate: the classification variant (paper Sec. IV-E, Table X)
# --------------------------------------------------------------------------
def test_gate_is_se_with_the_gcn_of_eq5_written_out():
    from mmctx.models.layers import SRGate
    gate = randomised(SRGate(32, num_nodes=4)).double()
    x = inputs(2, 32, 5, 7).double()
    g = x.mean(dim=(2, 3)).reshape(2, 4, 8)  # K = 4 nodes of d = 8 (rows)
    a_g = gate.reasoning.adjacency.weight.T  # K x K, as in Eq. 5
    w_g = gate.reasoning.state_update.weight  # d x d
    # Eq. 5 with nodes as columns: W_g G (I - A_g), G = g^T (d x K)
    reasoned = w_g @ g.transpose(1, 2) @ (torch.eye(4).double() - a_g)
    expected = x * torch.sigmoid(reasoned.transpose(1, 2).reshape(2, 32, 1, 1))
    torch.testing.assert_close(gate(x), expected, rtol=1e-12, atol=1e-12)


def test_gate_parameters_are_k_squared_plus_d_squared():
    """Table X: 16 gates of K = 16 add 82,688 parameters to a ResNet-50
    (25.557M + 0.083M = the paper's 25.64M)."""
    from mmctx.models.layers import SRGate
    widths = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    counts = [parameter_count(SRGate(c))[''] for c in widths]
    assert counts[0] == 16**2 + 16**2 and counts[-1] == 16**2 + 128**2
    assert sum(counts) == 82_688


@pytest.mark.parametrize('reasoning', ['gcn', 'attention', 'fc', 'none'])
def test_gate_variants_train_and_scale_channels_only(reasoning):
    from mmctx.models.layers import SRGate
    gate = randomised(SRGate(16, num_nodes=4, reasoning=reasoning))
    x = inputs(2, 16, 3, 5).requires_grad_()
    y = gate(x)
    ratio = y / x  # one gate per (image, channel), in (0, 1)
    torch.testing.assert_close(
        ratio, ratio[:, :, :1, :1].expand_as(ratio), rtol=1e-5, atol=1e-6)
    assert ((ratio > 0) & (ratio < 1)).all()
    y.square().sum().backward()
    grads = [p.grad for p in gate.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    if reasoning == 'none':
        torch.testing.assert_close(ratio[:, :, 0, 0],
                                   torch.sigmoid(x.mean(dim=(2, 3))))


def test_gate_builds_as_a_resnet_plugin():
    from mmdet.models.backbones import ResNet
    backbone = ResNet(
        50,
        plugins=[
            dict(
                cfg=dict(type='SRGate'),
                position='after_conv3',
                stages=(True, True, True, True))
        ])
    gates = [m for m in backbone.modules() if type(m).__name__ == 'SRGate']
    assert len(gates) == 16
    assert [g.in_channels for g in gates[2:4]] == [256, 512]


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=24, num_nodes=16), 'num_nodes=16 must divide '
     'in_channels=24'),
    (dict(in_channels=16, num_nodes=0), 'num_nodes'),
    (dict(in_channels=16, reasoning='graph'), "reasoning.*'graph'"),
    (dict(in_channels=16, node_order='random'), "node_order.*'random'"),
])
def test_gate_bad_arguments_name_them(kwargs, match):
    from mmctx.models.layers import SRGate
    with pytest.raises(ValueError, match=match):
        SRGate(**kwargs)


def test_gate_refuses_an_input_of_the_wrong_width():
    from mmctx.models.layers import SRGate
    with pytest.raises(ValueError, match=r'SRGate expects .*in_channels=16'):
        SRGate(16)(torch.zeros(1, 8, 4, 4))
