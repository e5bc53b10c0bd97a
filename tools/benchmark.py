#!/usr/bin/env python
"""Cost of context modules side by side: SR and ISA against the peers that
ship in mmcv / mmseg, measured in one process at one input.

Parameters, forward MACs, peak memory and latency of each module, every
ratio against dense self-attention (mmcv ``NonLocal2d``, row ``NL``) of the
same run, and the papers' figures beside ours::

    python tools/benchmark.py isa-fig1                  # ISA paper Fig. 1
    python tools/benchmark.py isa-table13               # ISA paper Table 13
    python tools/benchmark.py sr-table4                 # SR paper Table IV
    python tools/benchmark.py sr-table5                 # SR paper Table V
    python tools/benchmark.py scaling --plot docs/scaling.png
    python tools/benchmark.py isa-fig1 --quick --input 64 32 32 --json r.json
    python tools/benchmark.py isa-fig1 --mode train --dtype fp32 bf16
    python tools/benchmark.py isa-fig1 --quick --mode train --with-cp
    python tools/benchmark.py isa-fig1 --quick --compile --mode train
    python tools/benchmark.py isa-fig1 --quick --compile --freezing

The presets are :mod:`mmctx.analysis.benchmark`'s, the modules
:mod:`mmctx.analysis.peers`', how each figure is taken
:mod:`mmctx.analysis.measure`'s; docs/en/advanced_guides/benchmark.md has
the results.
Output: markdown tables on stdout (progress on stderr), ``--json PATH``
(schema: :func:`mmctx.analysis.report_dict`), ``--plot PATH.png`` for
``scaling``.
"""
import argparse
import json
import time

import torch

from mmctx.analysis import (METHODS, PRESETS, format_report, input_shapes,
                            machine_description, plot_scaling, report_dict,
                            run, select_rows)
from mmctx.analysis.papers import SR_TABLE5
from mmctx.cli import (non_negative_int, positive_int, torch_device,
                       writable_file)
from mmctx.engine.cpu_bf16 import warn_if_slow_bf16


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Params, FLOPs (MACs), peak memory and latency of SR, '
        'ISA and the mmcv/mmseg context modules, side by side.')
    parser.add_argument('preset', choices=sorted(PRESETS))
    parser.add_argument(
        '--input',
        type=positive_int,
        nargs=3,
        metavar=('C', 'H', 'W'),
        help="override the preset's input (for 'scaling': C and the "
        'largest size)')
    parser.add_argument(
        '--methods',
        nargs='+',
        metavar='NAME',
        help='subset of rows (the reference row, NL or DF-Seg-v2, always '
        f'kept); known: {", ".join(list(METHODS) + list(SR_TABLE5))}')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='only the rows the targets are about (NL and ours; isa-fig1: '
        "also mmseg's ISA attention; all rows with --methods), no extra "
        'warm-up run and 1 timed run (default: 1 and 5); scaling: sizes '
        '32, 64, 128')
    parser.add_argument(
        '--mode',
        choices=('inference', 'train'),
        default='inference',
        help='inference: one forward (eval, inference_mode); train: one '
        'forward + backward (train mode), peak memory with what autograd '
        'keeps')
    parser.add_argument(
        '--dtype',
        nargs='+',
        choices=('fp32', 'bf16'),
        default=['fp32'],
        help='fp32 and/or bf16 autocast, measured in one run (default fp32)')
    parser.add_argument(
        '--with-cp',
        action='store_true',
        help='--mode train: measure each row that has a with_cp option once '
        'more with activation checkpointing (rows marked "(with_cp)", JSON '
        '"with_cp": true)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='measure each row also compiled (torch.compile, inductor; rows '
        'marked "(compiled)", JSON "compiled": true with latency_vs_eager '
        'and mem_vs_eager), with its compiled/eager ratios in a table')
    parser.add_argument(
        '--freezing',
        action='store_true',
        help='with --compile in inference: inductor freezing '
        '(torch._inductor.config.freezing: weights folded into the graph and '
        'prepacked, as for deployment)')
    parser.add_argument('--warmup', type=non_negative_int, help='untimed runs')
    parser.add_argument(
        '--repeats', type=positive_int, help='timed runs (median)')
    parser.add_argument(
        '--threads',
        type=positive_int,
        help='torch.set_num_threads (default: torch default)')
    parser.add_argument(
        '--device',
        default='cpu',
        type=torch_device,
        help="'cpu' or 'cuda[:i]'")
    parser.add_argument(
        '--json', metavar='PATH', type=writable_file, help='write the results')
    parser.add_argument(
        '--plot',
        metavar='PATH.png',
        type=writable_file,
        help="'scaling' only: FLOPs/memory/latency plot")
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if args.plot and args.preset != 'scaling':
        parser.error('--plot is for the scaling preset')
    if args.freezing and (not args.compile or args.mode != 'inference'):
        parser.error('--freezing is for --compile in inference (it folds the '
                     'weights into the graph: no training)')
    if args.with_cp and args.mode != 'train':
        parser.error('--with-cp is for --mode train (checkpointing changes '
                     'nothing in inference)')
    try:
        args.rows = select_rows(PRESETS[args.preset], args.quick, args.methods)
    except ValueError as error:
        parser.error(f'--{error}')
    return args


def main(argv=None):
    args = parse_args(argv)
    preset = PRESETS[args.preset]
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    warmup = args.warmup if args.warmup is not None else int(not args.quick)
    repeats = args.repeats or (1 if args.quick else 5)
    machine = machine_description(device, torch.get_num_threads())
    print(f'# {args.preset}: {preset.source}', flush=True)
    print(
        f'device: {machine}; warm-up {warmup} (+1 profiled pass), '
        f'median of {repeats}' +
        ('; compiled with inductor freezing' if args.freezing else ''),
        flush=True)
    dtypes = list(dict.fromkeys(args.dtype))
    if 'bf16' in dtypes and device.type == 'cpu':
        warn_if_slow_bf16()
    start = time.perf_counter()
    from torch._inductor import config as inductor_config
    with inductor_config.patch(freezing=args.freezing):
        results, roofline = run(
            preset,
            args.rows,
            input_shapes(preset, args.quick, args.input),
            device,
            warmup,
            repeats,
            args.mode,
            dtypes,
            quick_roofline=args.quick,
            progress=not args.no_progress,
            with_cp=args.with_cp,
            compile=args.compile)
    print('\n' + format_report(results, preset, roofline, dtypes, device.type,
                               time.perf_counter() - start))
    doc = report_dict(args.preset, results, machine)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(doc, f, indent=1)
    if args.plot:
        plot_scaling(results, args.plot, machine)


if __name__ == '__main__':
    main()
