"""Measuring one module at one input: peak memory of a forward pass or a
training step, median latency, the matmul roofline, and the machine.

How each figure is taken:

* peak memory: the highest amount of memory allocated during the step above
  what was allocated before it (input and parameters excluded, the output
  included). CUDA: ``torch.cuda.max_memory_allocated()``. CPU: torch has no
  allocator statistics, so the step runs once under ``torch.profiler`` with
  ``profile_memory=True`` and the peak of the running sum of its allocation
  trace (every allocation and free of the c10 CPU allocator, in order) is
  taken. Buffers oneDNN allocates on its own (small convolution
  scratchpads) are not seen.
* latency: the median of timed steps after untimed warm-up ones, with the
  device synchronised around each.
* the roofline: one large fp32 matrix multiply; a module's achieved rate is
  ``2 x MACs / latency`` against it.
"""
import contextlib
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, NamedTuple, Optional

import torch
import torch.nn as nn

from .flops import count_flops, count_params

MB = 2.0**20
MODES = ('inference', 'train')
DTYPES = ('fp32', 'bf16')


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2: kineto logs each profiler start and stop
    there from C++."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _cpu_peak_bytes(fn: Callable[[], object]) -> int:
    """Peak of the running sum of the CPU allocation trace of ``fn()``."""
    from torch.profiler import ProfilerActivity, profile
    prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
    with _quiet_stderr():
        prof.__enter__()
    try:
        fn()
    finally:
        with _quiet_stderr():
            prof.__exit__(None, None, None)
    allocations = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        size = getattr(node.extra_fields, 'alloc_size', None)
        if size is not None and node.extra_fields.device.type == 'cpu':
            allocations.append((node.start_time_ns, size))
    current = peak = 0
    for _, size in sorted(allocations, key=lambda item: item[0]):
        current += size
        peak = max(peak, current)
    return peak


def peak_memory_mb(step: Callable[[], object], device: torch.device) -> float:
    """Working memory of one ``step()`` in MiB above what was allocated
    before it: the forward pass, or in train mode forward + backward (the
    activations autograd keeps, the gradients)."""
    gc.collect()
    if device.type != 'cuda':
        return _cpu_peak_bytes(step) / MB
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / MB


def make_step(module: nn.Module,
              x: torch.Tensor,
              mode: str = 'inference',
              dtype: str = 'fp32') -> Callable[[], object]:
    """One step of ``module`` on ``x`` as a closure.

    Args:
        module (nn.Module): what runs; put in eval or train mode here.
        x (Tensor): its input.
        mode (str): ``'inference'``: one forward under
            ``torch.inference_mode`` in eval mode; ``'train'``: train mode,
            forward, then backward from the sum of the output to the
            parameters and the input.
        dtype (str): ``'fp32'``, or ``'bf16'`` for bf16 autocast.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if dtype not in DTYPES:
        raise ValueError(f'dtype must be one of {DTYPES}, got {dtype!r}')

    def autocast():
        if dtype == 'fp32':
            return contextlib.nullcontext()
        return torch.autocast(x.device.type, dtype=torch.bfloat16)

    if mode == 'inference':
        module.eval()

        def infer():
            with torch.inference_mode(), autocast():
                return module(x)

        return infer

    module.train()
    x_train = x.detach().clone().requires_grad_(True)

    def train_step():
        module.zero_grad(set_to_none=True)
        x_train.grad = None
        with autocast():
            out = module(x_train)
        out.float().sum().backward()

    return train_step


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def median_ms(fn: Callable[[], object],
              device: torch.device,
              warmup: int = 1,
              repeats: int = 5) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` in milliseconds,
    after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


class Roofline(NamedTuple):
    """One n x n fp32 matmul: n^3 MACs in ``latency_ms``."""
    n: int
    latency_ms: float

    @property
    def gflops(self) -> float:
        return 2 * self.n**3 / (self.latency_ms * 1e-3) / 1e9


def time_matmul(device: torch.device, n: int, repeats: int) -> Roofline:
    """The :class:`Roofline` of this device: one timed n x n matmul."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    with torch.inference_mode():
        return Roofline(n, median_ms(lambda: a @ b, device, 1, repeats))


def set_with_cp(module: nn.Module, enabled: bool) -> bool:
    """Set ``with_cp`` (activation checkpointing) on every submodule that
    has the option: mmctx's blocks, attention and heads' modules, mmcv's
    and mmdet's bottlenecks. Returns whether any has it."""
    found = False
    for submodule in module.modules():
        if hasattr(submodule, 'with_cp'):
            submodule.with_cp = enabled
            found = True
    return found


def measure_module(module: nn.Module,
                   x: torch.Tensor,
                   name: str,
                   warmup: int = 1,
                   repeats: int = 5,
                   mode: str = 'inference',
                   dtype: str = 'fp32',
                   on_step: Optional[Callable[[str], None]] = None,
                   with_cp: bool = False,
                   compiled: bool = False) -> Dict:
    """One benchmark row of ``module`` at input ``x``.

    Args:
        module (nn.Module): moved to ``x``'s device.
        x (Tensor): the input, batch included.
        name (str): the row's ``method``.
        warmup (int): untimed steps before the timed ones (the profiled
            memory pass comes first and warms up too).
        repeats (int): timed steps; the latency is their median.
        mode (str), dtype (str): see :func:`make_step`.
        on_step (callable, optional): told ``'<name> <mode> <dtype>: flops'``
            (then ``memory``, ``latency``) before each measurement.
        with_cp (bool): measure with ``with_cp`` set on every submodule
            that has it (:func:`set_with_cp`), False on all of them
            otherwise.
        compiled (bool): measure ``torch.compile(module)`` (inductor, the
            default backend), compiled by one untimed step before the
            memory and latency ones; the MACs are the module's.

    Returns:
        dict: ``method, mode, dtype, with_cp, compiled, params, flops``
        (forward MACs), ``peak_mem_mb, latency_ms``.
    """
    tell = on_step or (lambda text: None)
    module = module.to(x.device).eval()
    if not set_with_cp(module, with_cp) and with_cp:
        raise ValueError(f'{name} has no with_cp option')
    label = row_label(dict(method=name, with_cp=with_cp, compiled=compiled))
    tell(f'{label} {mode} {dtype}: flops')
    flops = count_flops(module, x)
    if compiled:
        torch._dynamo.reset()  # each row compiles its own module
        step = make_step(torch.compile(module), x, mode, dtype)
        tell(f'{label} {mode} {dtype}: compiling')
        step()
    else:
        step = make_step(module, x, mode, dtype)
    tell(f'{label} {mode} {dtype}: memory')
    peak = peak_memory_mb(step, x.device)
    tell(f'{label} {mode} {dtype}: latency')
    latency = median_ms(step, x.device, warmup, repeats)
    module.eval()
    return dict(
        method=name,
        mode=mode,
        dtype=dtype,
        with_cp=with_cp,
        compiled=compiled,
        params=int(count_params(module)),
        flops=int(flops),
        peak_mem_mb=round(float(peak), 3),
        latency_ms=round(float(latency), 3))


def row_label(row: Dict) -> str:
    """The row's method, marked when it ran with activation checkpointing
    or compiled."""
    marks = [m for m in ('with_cp', 'compiled') if row.get(m)]
    return row['method'] + ''.join(f' ({m})' for m in marks)


def cpu_model() -> str:
    """The CPU's model name as ``lscpu`` reports it, else what
    :mod:`platform` knows."""
    try:
        out = subprocess.run(['lscpu'],
                             capture_output=True,
                             text=True,
                             check=False).stdout
    except OSError:
        out = ''
    for line in out.splitlines():
        if line.startswith('Model name:'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine() or 'unknown CPU'


def machine_description(device: torch.device, threads: int) -> str:
    """The device (GPU name, or CPU model and thread counts) and torch."""
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
        return f'{name}, torch {torch.__version__}'
    return (f'{cpu_model()}, {os.cpu_count()} logical CPUs, {threads} torch '
            f'threads, torch {torch.__version__}')
