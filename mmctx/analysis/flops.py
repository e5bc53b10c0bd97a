"""Counting: multiply-adds by mmengine's jit counter, with the fused
attention path counted too, and parameters."""
import math

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape


def sdpa_flop_jit(inputs, outputs) -> int:
    """MACs of ``scaled_dot_product_attention``: ``Q K^T`` plus ``A V``, the
    count mmengine gives the explicit path's two matmuls.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev).
    """
    query, key, value = (get_shape(t) for t in inputs[:3])
    batch = math.prod(query[:-2])
    return batch * query[-2] * key[-2] * (query[-1] + value[-1])


def flop_analyzer(module: torch.nn.Module,
                  *inputs: torch.Tensor) -> FlopAnalyzer:
    """mmengine's jit FLOP counter for one forward of ``module``, with a
    handle for ``scaled_dot_product_attention``: mmengine has none and would
    count the fused attention path as free."""
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


def count_flops(module: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-adds of one forward by mmengine's jit counter (which calls
    them "flops"), ``scaled_dot_product_attention`` included."""
    with torch.no_grad():
        return int(flop_analyzer(module, *inputs).total())


def count_params(module: torch.nn.Module) -> int:
    """Number of parameter elements of ``module``."""
    return sum(p.numel() for p in module.parameters())
