"""What the cost tools share: FLOP counting that also sees the fused
attention path, and the name of the CPU they ran on."""
import math
import platform
import subprocess

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
    analyzer.set_op_handle('aten::scaled_dot_product_attention',
                           sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


def count_flops(module: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-adds of one forward by mmengine's jit counter (which calls
    them "flops"), ``scaled_dot_product_attention`` included."""
    with torch.no_grad():
        return int(flop_analyzer(module, *inputs).total())


def cpu_model() -> str:
    """The CPU's model name as ``lscpu`` reports it, else what
    :mod:`platform` knows."""
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        out = ''
    for line in out.splitlines():
        if line.startswith('Model name:'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine() or 'unknown CPU'
