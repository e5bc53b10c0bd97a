"""Cost measurement shared by the tools: FLOPs and parameters, peak memory
and latency of a forward pass or a training step, the peer modules the
papers compare against, and the benchmark presets that reproduce their cost
tables (``tools/benchmark.py`` is the command line over them)."""
from .benchmark import PRESETS, Preset, input_shapes, run, select_rows
from .flops import count_flops, count_params, flop_analyzer, sdpa_flop_jit
from .measure import (Roofline, cpu_model, machine_description, make_step,
                      measure_module, median_ms, peak_memory_mb, time_matmul)
from .peers import METHODS, Method
from .report import format_report, markdown_table, plot_scaling, report_dict

__all__ = [
    'PRESETS', 'Preset', 'input_shapes', 'run', 'select_rows', 'count_flops',
    'count_params', 'flop_analyzer', 'sdpa_flop_jit', 'Roofline', 'cpu_model',
    'machine_description', 'make_step', 'measure_module', 'median_ms',
    'peak_memory_mb', 'time_matmul', 'METHODS', 'Method', 'format_report',
    'markdown_table', 'plot_scaling', 'report_dict'
]
