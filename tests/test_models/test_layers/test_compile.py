"""``torch.compile`` takes eager's path, not the export path: SDPA where
``fused_attn``, no padding where the map divides, checkpointing where
``with_cp``; inductor compiles static and dynamic shapes, padded or not,
and a training step, equal to eager. (Export keeps its path:
tests/test_deployment.py.)"""
import copy

import pytest
import torch

from mmctx.deployment import randomise_
from mmctx.models.layers import ISABlock, SRBlock
from mmctx.models.layers._tracing import exporting

pytestmark = pytest.mark.skipif(
    not hasattr(torch.compiler, 'is_exporting'),
    reason='torch < 2.5 cannot tell torch.compile from export '
    '(torch.compiler.is_exporting), so a compiled model takes the export '
    'path there (docs/en/advanced_guides/compatibility.md)')

ISA = dict(reduction=2)


class Recorder:
    """A backend that keeps dynamo's graphs, then runs them through AOT
    autograd (``aot_eager``), as inductor would."""

    def __init__(self):
        self.graphs = []

    def __call__(self, graph_module, example_inputs):
        self.graphs.append(graph_module)
        return torch._dynamo.lookup_backend('aot_eager')(graph_module,
                                                         example_inputs)

    def ops(self):
        return [
            str(node.target) for g in self.graphs for node in g.graph.nodes
            if node.op == 'call_function'
        ]


def compiled(module, backend, **kwargs):
    torch._dynamo.reset()
    return torch.compile(module, backend=backend, fullgraph=True, **kwargs)


def test_exporting_under_trace_and_export_not_under_compile():

    class Probe(torch.nn.Module):

        def forward(self, x):
            seen[self.mode] = exporting()
            return x + 1

    seen, probe, x = {}, Probe(), torch.zeros(1)
    probe.mode = 'compile'
    compiled(probe, 'eager')(x)
    probe.mode = 'export'
    torch.export.export(probe, (x, ))
    probe.mode = 'trace'
    torch.jit.trace(probe, x, check_trace=False)
    assert seen == {'compile': False, 'export': True, 'trace': True}


@pytest.mark.parametrize('size,padded', [((16, 16), False), ((9, 11), True)])
def test_compiled_fused_isa_reaches_sdpa_and_pads_only_what_needs_it(
        size, padded):
    recorder = Recorder()
    block = randomise_(ISABlock(32, reduction=2)).eval()
    with torch.no_grad():
        compiled(block, recorder)(torch.randn(1, 32, *size))
    ops = recorder.ops()
    assert ops.count('<built-in function scaled_dot_product_attention>') == 2
    assert any('pad' in op for op in ops) == padded


@pytest.mark.parametrize('block_type,kwargs', [(ISABlock, ISA), (SRBlock, {})])
def test_with_cp_still_checkpoints_under_compile(block_type, kwargs):
    """What the compiled forward saves for the backward, counted with and
    without ``with_cp``; the checkpointed one equals eager to the last bit
    (AOT autograd), BatchNorm statistics updated once. 15x13 is padded to
    ISA's down factor 8: the training step of a padded map compiles too."""
    saved = {}
    for with_cp in (False, True):
        torch.manual_seed(0)
        eager = randomise_(
            block_type(
                64, with_cp=with_cp, norm_cfg=dict(type='BN'),
                **kwargs)).train()
        ours = copy.deepcopy(eager)
        recorder = Recorder()
        forward = compiled(ours, recorder)
        x = torch.randn(2, 64, 15, 13, requires_grad=True)
        forward(x)  # compiles (and updates the statistics once)
        eager(x)
        sizes = []
        with torch.autograd.graph.saved_tensors_hooks(
                lambda t: sizes.append(t.numel()) or t, lambda t: t):
            out = forward(x)
        saved[with_cp] = sum(sizes)
        out.square().sum().backward()
        expected = eager(x)
        expected.square().sum().backward()
        torch.testing.assert_close(out, expected, rtol=0, atol=0)
        for theirs, mine in zip(eager.parameters(), ours.parameters()):
            torch.testing.assert_close(mine.grad, theirs.grad, rtol=0, atol=0)
        torch.testing.assert_close(
            ours.state_dict(), eager.state_dict(), rtol=0, atol=0)
        if with_cp:
            assert any('checkpoint' in op for op in recorder.ops())
        else:
            padded = any('pad' in op for op in recorder.ops())
            assert padded == (block_type is ISABlock)
    assert saved[True] < saved[False] / 2


def largest_relative_error(results, exact):
    """The largest of each tensor's difference from float64's, relative to
    the largest value of that tensor (at least a millionth of the largest of
    all, for gradients that are zero in exact arithmetic)."""
    scale = max(float(t.abs().max()) for t in exact)
    return max(
        float((got - want).abs().max()) /
        max(float(want.abs().max()), 1e-6 * scale)
        for got, want in zip(results, exact))


@pytest.mark.parametrize('block_type,kwargs', [(ISABlock, ISA), (SRBlock, {})])
def test_inductor_training_step_matches_float64(block_type, kwargs):
    """One training step through inductor's kernels, forward and backward
    (BatchNorm in train mode, a 15x13 map that ISA pads): the output and
    every gradient against float64. A weight's gradient sums over the 390
    positions of the batch; float32 sums of n terms err by up to about
    n x 2^-24 (2.3e-5) of the summed magnitudes, and inductor sums in
    another order than eager: 1e-4 (measured: eager 4e-6, inductor 3e-5).
    A wrong kernel errs by the order of 1."""
    torch.manual_seed(0)
    eager = randomise_(block_type(32, norm_cfg=dict(type='BN'),
                                  **kwargs)).train()
    exact = copy.deepcopy(eager).double()
    ours = copy.deepcopy(eager)
    x = torch.randn(2, 32, 15, 13)
    results = {}
    for name, model, forward, inputs in (
        ('float64', exact, exact, x.double()),
        ('eager', eager, eager, x),
        ('inductor', ours, compiled(ours, 'inductor'), x),
    ):
        out = forward(inputs)
        out.square().sum().backward()
        results[name] = [out.detach().double()
                         ] + [p.grad.double() for p in model.parameters()]
    eager_error = largest_relative_error(results['eager'], results['float64'])
    inductor_error = largest_relative_error(results['inductor'],
                                            results['float64'])
    print(f'eager {eager_error:.1e}, inductor {inductor_error:.1e}')
    assert max(eager_error, inductor_error) < 1e-4


# two that divide by the down factor 8 (no padding), two that do not
SIZES = [(16, 24), (9, 11), (32, 40), (12, 13)]


def compiled_versions(module):
    """The graphs dynamo keeps for ``module``'s forward (one per guard
    set), however often the backend was called while compiling them."""
    from torch._C._dynamo.eval_frame import _debug_get_cache_entry_list
    return len(_debug_get_cache_entry_list(type(module).forward.__code__))


@pytest.mark.parametrize('dynamic,sizes', [(False, SIZES[:2]), (True, SIZES)])
def test_inductor_equals_eager_over_padded_and_unpadded_sizes(dynamic, sizes):
    """One compiled ISA block over sizes that pad and sizes that don't, one
    after another; with ``dynamic=True`` two graphs in all (padded or not),
    none per size. float32 against eager: the kernels sum in another order
    (outputs of order 1, 32-term sums: 1e-5)."""
    block = randomise_(ISABlock(32, norm_cfg=dict(type='BN'), **ISA)).eval()
    forward = compiled(block, 'inductor', dynamic=dynamic)
    with torch.no_grad():
        for size in sizes:
            x = torch.randn(2, 32, *size)
            torch.testing.assert_close(
                forward(x), block(x), rtol=1e-5, atol=1e-5)
    assert compiled_versions(block) == (2 if dynamic else len(sizes))
