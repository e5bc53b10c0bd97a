"""with_cp (activation checkpointing) of the SR and ISA blocks, the ISA
attention and module and the heads: the same outputs, gradients, dropout
masks and BatchNorm running statistics as without it, and the forward keeps
only the checkpointed parts' inputs."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope
from torch.utils.checkpoint import checkpoint

from mmctx import ISABlock, SRBlock
from mmctx.deployment import randomise_
from mmctx.models.layers import InterlacedSparseAttention, ISAModule
from mmctx.registry import MODELS

BN = dict(type='BN')
GN = dict(type='GN', num_groups=2)
MODULES = {
    'SRBlock-ghp-BN':
    lambda **kw: SRBlock(16, num_nodes=4, norm_cfg=BN, **kw),
    'SRBlock-gap-attention':
    lambda **kw: SRBlock(
        16, num_nodes=4, squeeze='gap', reasoning='attention', **kw),
    'ISABlock-GN':
    lambda **kw: ISABlock(16, down_factor=3, norm_cfg=GN, **kw),
    'ISABlock-BN-short_long':
    lambda **kw: ISABlock(
        16, down_factor=(2, 3), order='short_long', norm_cfg=BN, **kw),
    'InterlacedSparseAttention-unmasked':
    lambda **kw: InterlacedSparseAttention(
        16, 8, down_factor=3, mask_padding=False, **kw),
    'ISAModule-concat-dropout':
    lambda **kw: ISAModule(
        16, 8, 16, down_factors=((2, 2), (3, 3)), dropout_ratio=0.3, **kw),
    'ISAModule-residual-dropout':
    lambda **kw: ISAModule(
        16, 8, 16, fusion='residual', dropout_ratio=0.3, down_factors=3, **kw),
}
BATCH_NORMS = (torch.nn.BatchNorm2d, )


def twins(build, **kwargs):
    """The module without and with ``with_cp``, on the same random float64
    weights and running statistics."""
    plain = randomise_(build(**kwargs)).double().train()
    checkpointed = build(with_cp=True, **kwargs).double().train()
    checkpointed.load_state_dict(plain.state_dict())
    return plain, checkpointed


def twins_of(name):
    """:func:`twins` of ``MODULES[name]``, the blocks active (not
    zero-initialised), so that every parameter gets a gradient."""
    if 'Block' in name:
        return twins(MODULES[name], zero_init=False)
    return twins(MODULES[name])


def train_step(module, x, seed=0):
    """Output, input gradient and parameter gradients of one step from the
    output's weighted sum (a fixed weight, so every output counts)."""
    x = x.detach().clone().requires_grad_(x.requires_grad)
    module.zero_grad(set_to_none=True)
    torch.manual_seed(seed)  # the dropout masks
    out = module(x)
    weight = torch.linspace(-1, 1, out.numel(), dtype=out.dtype)
    (out * weight.view_as(out)).sum().backward()
    grads = {n: p.grad for n, p in module.named_parameters()}
    return out.detach(), x.grad, grads


def assert_same_step(plain, checkpointed, x):
    # The recomputation repeats the same float64 operations on the same
    # values, so everything agrees to the last bit.
    out, x_grad, grads = train_step(plain, x)
    out_cp, x_grad_cp, grads_cp = train_step(checkpointed, x)
    torch.testing.assert_close(out_cp, out, rtol=0, atol=0)
    torch.testing.assert_close(x_grad_cp, x_grad, rtol=0, atol=0)
    assert grads_cp.keys() == grads.keys()
    for name, grad in grads.items():
        assert grad is not None and grad.abs().sum() > 0, name
        torch.testing.assert_close(grads_cp[name], grad, rtol=0, atol=0)
    torch.testing.assert_close(
        checkpointed.state_dict(), plain.state_dict(), rtol=0, atol=0)


def saved_bytes(module, x):
    """Bytes autograd keeps for the backward of ``module(x)`` outside what
    checkpoints hold (their inputs), counted by a saved-tensor hook."""
    seen = {}

    def pack(tensor):
        seen[tensor.data_ptr()] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x)
    return sum(seen.values())


@pytest.mark.smoke
@pytest.mark.parametrize('name', MODULES)
def test_with_cp_gives_the_same_step(name):
    plain, checkpointed = twins_of(name)
    x = torch.randn(2, 16, 7, 8, dtype=torch.float64, requires_grad=True)
    assert_same_step(plain, checkpointed, x)
    # a second step: the running statistics were updated once per step
    assert_same_step(plain, checkpointed, x * 2)


def second_order_step(module, x):
    """The input gradient twice through one graph (``retain_graph``, the
    recomputation runs twice) and the gradient of its square sum (double
    backward)."""
    torch.manual_seed(0)  # the dropout masks
    out = module(x)
    weight = torch.linspace(-1, 1, out.numel(), dtype=out.dtype)
    loss = (out * weight.view_as(out)).sum()
    first, = torch.autograd.grad(loss, x, retain_graph=True, create_graph=True)
    again, = torch.autograd.grad(loss, x, retain_graph=True)
    second, = torch.autograd.grad(first.square().sum(), x)
    return first.detach(), again, second, module.state_dict()


@pytest.mark.smoke
@pytest.mark.parametrize('name', MODULES)
def test_with_cp_allows_a_second_backward(name):
    plain, checkpointed = twins_of(name)
    x = torch.randn(2, 16, 7, 8, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(
        second_order_step(checkpointed, x),
        second_order_step(plain, x),
        rtol=0,
        atol=0)


@pytest.mark.smoke
def test_dropout_draws_the_same_mask_in_the_recomputation():
    plain, checkpointed = twins(MODULES['ISAModule-concat-dropout'])
    x = torch.randn(1, 16, 6, 6, dtype=torch.float64)
    out, _, _ = train_step(copy.deepcopy(plain), x.requires_grad_())
    assert (out == 0).float().mean() > 0.2  # Dropout2d zeroed channels
    assert_same_step(plain, checkpointed, x)


@pytest.mark.smoke
def test_parameters_get_gradients_when_the_input_needs_none():
    # a frozen backbone: the reentrant checkpoint would give no gradients
    plain, checkpointed = twins(MODULES['ISABlock-GN'], zero_init=False)
    x = torch.randn(2, 16, 6, 6, dtype=torch.float64)
    assert_same_step(plain, checkpointed, x)


@pytest.mark.smoke
def test_running_statistics_are_updated_once_per_step():
    # what a plain torch checkpoint (and mmcv's with_cp bottlenecks) does:
    # the recomputation updates the running statistics a second time
    plain, checkpointed = twins(MODULES['SRBlock-ghp-BN'], zero_init=False)
    naive = copy.deepcopy(plain)
    x = torch.randn(2, 16, 5, 5, dtype=torch.float64, requires_grad=True)
    for module in (plain, checkpointed):
        module(x).sum().backward()
    out = x + checkpoint(naive._branch, x, use_reentrant=False)
    out.sum().backward()
    bn = 'out_proj.bn.'
    assert plain.state_dict()[bn + 'num_batches_tracked'] == 1
    assert checkpointed.state_dict()[bn + 'num_batches_tracked'] == 1
    assert naive.state_dict()[bn + 'num_batches_tracked'] == 2
    assert not torch.equal(naive.state_dict()[bn + 'running_mean'],
                           plain.state_dict()[bn + 'running_mean'])
    torch.testing.assert_close(
        checkpointed.state_dict(), plain.state_dict(), rtol=0, atol=0)
    assert all(m.track_running_stats for m in checkpointed.modules()
               if isinstance(m, BATCH_NORMS))


@pytest.mark.smoke
@pytest.mark.parametrize(
    'name, maps',
    [
        ('SRBlock-ghp-BN', 1),  # its input
        ('InterlacedSparseAttention-unmasked', 2),  # the two steps' inputs
        # the steps' inputs (x, a 4-channel map), the output conv's input and
        # its output, which its GroupNorm keeps
        ('ISABlock-GN', 1 + 0.25 + 0.25 + 1),
        # x, each stage's output (the fusion's inputs) and first step's output,
        # which for the (2, 2) stage is on the padded 10 x 10 grid
        ('ISAModule-concat-dropout', 4 + 100 / 81),
    ])
def test_the_forward_keeps_only_the_checkpoint_inputs(name, maps):
    """With ``with_cp`` the forward keeps ``maps`` maps of the input's size
    (16 channels) for the backward, and no more."""
    plain, checkpointed = twins(MODULES[name])
    x = torch.randn(1, 16, 9, 9, dtype=torch.float64, requires_grad=True)
    without = saved_bytes(plain, x)
    with_cp = saved_bytes(checkpointed, x)
    input_map = x.numel() * x.element_size()
    statistics = 1024  # GroupNorm's means and deviations, small
    assert maps * input_map <= with_cp <= maps * input_map + statistics
    assert without > 3 * with_cp


@pytest.mark.smoke
def test_no_checkpoint_without_grad():
    _, checkpointed = twins(MODULES['ISAModule-concat-dropout'])
    x = torch.randn(1, 16, 6, 6, dtype=torch.float64)
    checkpointed.eval()
    with torch.no_grad():
        out = checkpointed(x)
    with torch.inference_mode():
        torch.testing.assert_close(checkpointed(x), out, rtol=0, atol=0)


@pytest.mark.smoke
@pytest.mark.parametrize('build', [SRBlock, ISABlock, ISAModule])
def test_with_cp_spelling_is_checked(build):
    kwargs = dict(num_nodes=4) if build is SRBlock else {}
    args = (16, 8, 16) if build is ISAModule else (16, )
    with pytest.raises(
            TypeError, match="with_cp must be True or False, but got 'yes'"):
        build(*args, with_cp='yes', **kwargs)


@pytest.mark.smoke
@pytest.mark.parametrize('head', [
    dict(type='mmctx.ISAHead', isa_channels=8, down_factor=3),
    dict(type='mmctx.SRHead', sr_cfg=dict(num_nodes=4)),
])
def test_heads_pass_with_cp_to_their_module(head):
    cfg = dict(head, in_channels=16, channels=16, num_classes=3)

    def build(with_cp=False):
        if head['type'] == 'mmctx.ISAHead':
            return MODELS.build(dict(cfg, with_cp=with_cp))
        sr_cfg = dict(head['sr_cfg'], with_cp=with_cp, zero_init=False)
        return MODELS.build(dict(cfg, sr_cfg=sr_cfg))

    with DefaultScope.overwrite_default_scope('mmctx'):
        plain, checkpointed = twins(build)
    module = checkpointed.isa_module if 'isa_module' in dict(
        checkpointed.named_children()) else checkpointed.sr_block
    assert module.with_cp
    x = torch.randn(2, 16, 7, 7, dtype=torch.float64, requires_grad=True)
    assert_same_step(_Inputs(plain), _Inputs(checkpointed), x)


class _Inputs(torch.nn.Module):
    """A decode head called on one tensor, as the blocks are."""

    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head([x])
