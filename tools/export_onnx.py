"""Export an mmseg segmentor (mmctx heads included) to ONNX and check it.

The graph takes the preprocessed batch ``(N, 3, H, W)`` float32 and returns
the logits of ``EncoderDecoder.encode_decode`` at the input size,
``(N, num_classes, H, W)``. After export the file runs in onnxruntime and
its logits are compared at the export size and, with ``--dynamic``, at three
more sizes (one multiple of output stride x down factor, two not) with
float64 PyTorch's, as are float32 PyTorch's: float32 arithmetic is itself
off by 1e-4 to 1e-3 on a realistic model. Exit status 1 when onnxruntime's
error exceeds ``--tolerance`` times float32 PyTorch's.

Example::

    python tools/export_onnx.py configs/isa_r50_cityscapes.py \\
        --shape 769 769 --dynamic --out isanet.onnx
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

from mmctx.cli import positive_float, positive_int, writable_file
from mmctx.deployment import (EXPORTERS, MIN_OPSET, SegmentorLogits,
                              build_segmentor, check_sizes,
                              errors_against_float64, export_error_ratio,
                              export_onnx, random_inputs, size_unit)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmseg config file')
    parser.add_argument(
        '--checkpoint',
        help='checkpoint; default: random '
        'weights (checks the export, not a trained model)')
    parser.add_argument(
        '--shape',
        type=positive_int,
        nargs=2,
        required=True,
        metavar=('H', 'W'),
        help='input height and width')
    parser.add_argument(
        '--dynamic', action='store_true', help='free batch, height and width')
    parser.add_argument(
        '--opset',
        type=positive_int,
        default=17,
        help=f'ONNX opset, at least {MIN_OPSET} (default 17; dynamo writes '
        '>= 18)')
    parser.add_argument(
        '--exporter',
        choices=EXPORTERS,
        default='torchscript',
        help='torch.onnx exporter')
    parser.add_argument(
        '--tolerance',
        type=positive_float,
        default=10.0,
        help="largest accepted ratio of onnxruntime's error "
        "to float32 PyTorch's, both against float64 PyTorch "
        '(default 10)')
    parser.add_argument(
        '--out', required=True, type=writable_file, help='output .onnx file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides, as in mmseg tools')
    args = parser.parse_args(argv)
    if args.opset < MIN_OPSET:
        parser.error(f'argument --opset: must be at least {MIN_OPSET}, got '
                     f'{args.opset}')
    return args


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'config: no such file {args.config!r}')
    if args.checkpoint is None:
        print(
            'WARNING: no --checkpoint: exporting RANDOM weights',
            file=sys.stderr)
    try:
        model = SegmentorLogits(
            build_segmentor(args.config, args.checkpoint, args.cfg_options))
        sizes = check_sizes(args.shape, size_unit(model)) \
            if args.dynamic else []
    except ValueError as error:
        sys.exit(f'error: {error}')
    export_input, = random_inputs([(1, *args.shape)])
    try:
        opset = export_onnx(model, args.out, export_input, args.dynamic,
                            args.opset, args.exporter)
    except torch.onnx.errors.OnnxExporterError as error:
        sys.exit(f'error: the export failed with --opset {args.opset} '
                 f'({args.exporter} exporter): {error}')
    print(f'wrote {args.out} ({args.exporter} exporter, opset {opset}, '
          f'{"dynamic" if args.dynamic else "static"} shape)')
    checks = [export_input] + random_inputs(sizes, seed=1)
    worst = 0.0
    print(f'{"input":>22}  {"onnxruntime":>12}  {"float32":>12}  '
          f'{"ratio":>8}   (largest error against float64 PyTorch, '
          'relative to its largest logit)')
    for inputs in checks:
        onnx_error, float32_error = errors_against_float64(
            model, args.out, inputs)
        ratio = export_error_ratio(onnx_error, float32_error)
        worst = max(worst, ratio)
        print(f'{str(tuple(inputs.shape)):>22}  {onnx_error:12.3e}  '
              f'{float32_error:12.3e}  {ratio:8.2f}')
    verdict = 'OK' if worst <= args.tolerance else 'FAILED'
    print(f"{verdict}: onnxruntime's error is at most {worst:.2f} times "
          f"float32 PyTorch's (tolerance {args.tolerance:g})")
    return 0 if verdict == 'OK' else 1


if __name__ == '__main__':
    sys.exit(main())
