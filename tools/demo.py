#!/usr/bin/env python
"""`make demo`: a dilated FCN, the SR head and the ISA head trained side by
side on Context Cues, a synthetic dataset that needs global context.

The three models share the backbone (a quarter-width ResNetV1c-18, output
stride 8, random init), the schedule and the seed; only the decode head
differs (``configs/demo/``). Each one is trained by mmengine's Runner from
its config file, tested with mmseg's ``IoUMetric``, and costed (parameters,
MACs and CPU latency of the head). Written to ``--work-dir``:

* ``report.md``: per-class IoU and mIoU, the head costs, the settings;
* ``report.json``: the same figures, machine-readable;
* ``predictions.png``: input, ground truth and the three predictions for a
  few validation images; ``iou.png``: per-class IoU as a bar chart;
* ``<method>/``: each Runner's work dir (config, log, checkpoint).

The dataset is generated on first use under ``--data-root`` (about 2 s).
Numbers are whatever the run measures. Usage::

    python tools/demo.py            # docs/en/get_started.md has a timed run
    python tools/demo.py --quick    # a smoke run
"""
import argparse
import os
import os.path as osp
import shlex
import sys
import warnings

import torch

from mmctx.cli import folder_to_create, positive_int
from mmctx.datasets import ContextCuesDataset
from mmctx.demo import (METHODS, QUICK, plot_iou, plot_predictions, run_method,
                        write_report)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train FCN, SR and ISA heads side by side on the '
        'synthetic Context Cues dataset and write a report.')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo',
        type=folder_to_create,
        help='where the report, pictures and runs go')
    parser.add_argument(
        '--data-root',
        default='data/context_cues',
        help='cache folder of the generated dataset')
    parser.add_argument(
        '--quick',
        action='store_true',
        help=f'{QUICK["iters"]} iterations (unless --iters) '
        f'and {QUICK["test_images"]} test images: a smoke run')
    parser.add_argument(
        '--iters',
        type=positive_int,
        help='training iterations (default: the configs\')')
    parser.add_argument(
        '--methods',
        nargs='+',
        choices=list(METHODS),
        default=list(METHODS),
        help='heads to train')
    parser.add_argument(
        '--threads',
        type=positive_int,
        help='torch threads (default: torch\'s choice)')
    parser.add_argument(
        '--num-show',
        type=positive_int,
        default=4,
        help='validation images in predictions.png')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    # The stack's deprecation notices and reminders (build_loss,
    # avg_non_ignore, draw=False) are not actionable for a demo user.
    warnings.filterwarnings('ignore', module=r'(mmseg|mmengine)\.')
    os.makedirs(args.work_dir, exist_ok=True)
    print(
        f'mmctx demo: {", ".join(METHODS[m][0] for m in args.methods)} '
        f'on Context Cues (data: {args.data_root}, '
        f'{torch.get_num_threads()} threads)',
        flush=True)
    results, samples = [], []
    for method in args.methods:
        result, method_samples, classes = run_method(
            method,
            work_dir=args.work_dir,
            data_root=args.data_root,
            iters=args.iters,
            quick=args.quick)
        print(f'  {result["name"]}: mIoU {result["mIoU"]:.2f}', flush=True)
        results.append(result)
        samples.append(method_samples)

    palette = ContextCuesDataset.METAINFO['palette']
    plot_predictions(
        osp.join(args.work_dir, 'predictions.png'), samples, results, palette,
        args.num_show)
    plot_iou(osp.join(args.work_dir, 'iou.png'), results, classes)
    command = shlex.join(['python', 'tools/demo.py', *sys.argv[1:]])
    table = write_report(args.work_dir, results, classes, command)
    print('\n' + table + '\n')
    print(f'Report: {osp.join(args.work_dir, "report.md")} '
          '(with predictions.png and iou.png beside it)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
