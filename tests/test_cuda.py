"""The CUDA branches, run by ``make cuda-check`` on a machine with a GPU and
skipped elsewhere: SDPA kernels with masks and unequal key/value widths
against the explicit path, the CUDA peak-memory measurement of
mmctx.analysis, and fp16/bf16 mixed-precision training steps."""
import pytest
import torch

import mmctx  # noqa: F401
from mmctx.deployment import randomise_
from mmctx.models.layers import (InterlacedSparseAttention, ISABlock,
                                 SelfAttentionUnit, SRBlock)

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
]


@pytest.mark.parametrize('dtype, tol', [(torch.float32, 1e-4),
                                        (torch.bfloat16, 3e-2),
                                        (torch.float16, 3e-3)])
@pytest.mark.parametrize('mask_padding', [True, False])
def test_isa_fused_equals_explicit_on_cuda(dtype, tol, mask_padding):
    """Flash / memory-efficient SDPA kernels (bool mask, key width 16,
    value width 48) give the explicit softmax(QK^T)V."""
    torch.manual_seed(0)
    fused = InterlacedSparseAttention(
        48, key_channels=16, down_factor=(4, 6),
        mask_padding=mask_padding).cuda().eval()
    randomise_(fused)
    explicit = InterlacedSparseAttention(
        48,
        key_channels=16,
        down_factor=(4, 6),
        mask_padding=mask_padding,
        fused_attn=False).cuda().eval()
    explicit.load_state_dict(fused.state_dict())
    x = torch.randn(2, 48, 29, 35, device='cuda')
    with torch.no_grad(), torch.autocast(
            'cuda', dtype=dtype, enabled=dtype != torch.float32):
        a, b = fused(x), explicit(x)
    assert torch.isfinite(a).all()
    torch.testing.assert_close(a.float(), b.float(), rtol=tol, atol=tol)


def test_cuda_matches_cpu():
    torch.manual_seed(0)
    for block in (ISABlock(32, down_factor=(4, 4)),
                  SRBlock(32, num_nodes=4, zero_init=False)):
        block = randomise_(block).eval()
        x = torch.randn(1, 32, 21, 19)
        with torch.no_grad():
            expected = block(x)
            got = block.cuda()(x.cuda()).cpu()
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_unit_with_unequal_widths_trains_in_fp16():
    unit = SelfAttentionUnit(32, 8, 24, 32).cuda().train()
    x = torch.randn(2, 32, 16, 16, device='cuda', requires_grad=True)
    with torch.autocast('cuda', dtype=torch.float16):
        out = unit(x)
    out.float().sum().backward()
    assert all(
        torch.isfinite(p.grad).all() for p in unit.parameters()
        if p.grad is not None)
    assert torch.isfinite(x.grad).all()


def test_benchmark_cuda_peak_memory():
    """The CUDA branch of peak_memory_mb sees a step's own allocations."""
    from mmctx.analysis import peak_memory_mb
    mib = 2**20

    def step():
        a = torch.empty(64 * mib, dtype=torch.uint8, device='cuda')
        b = torch.empty(32 * mib, dtype=torch.uint8, device='cuda')
        del a
        return b

    peak = peak_memory_mb(step, torch.device('cuda'))
    assert 96 <= peak < 100


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_amp_optim_wrapper_step_on_cuda(dtype):
    from mmengine.optim import AmpOptimWrapper
    block = SRBlock(32, num_nodes=4, zero_init=False).cuda()
    wrapper = AmpOptimWrapper(
        dtype=dtype, optimizer=torch.optim.SGD(block.parameters(), lr=0.1))
    before = [p.detach().clone() for p in block.parameters()]
    with wrapper.optim_context(block):
        loss = block(torch.randn(2, 32, 24, 24, device='cuda')).pow(2).mean()
    wrapper.update_params(loss)
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, p)
               for a, p in zip(before, block.parameters()))
