"""Export an mmseg segmentor (mmctx heads included) to ONNX and check it.

The graph takes the preprocessed batch ``(N, 3, H, W)`` float32 and returns
the logits of ``EncoderDecoder.encode_decode`` at the input size,
``(N, num_classes, H, W)``. After export the file runs in onnxruntime and
its logits are compared with PyTorch's at the export size and, with
``--dynamic``, at three more sizes (one multiple of output stride x down
factor, two not). Exit status 1 when a relative difference exceeds
``--tolerance``.

Example::

    python tools/export_onnx.py configs/isa_r50_cityscapes.py \\
        --shape 769 769 --dynamic --out isanet.onnx
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from mmctx.deployment import (EXPORTERS, SegmentorLogits, build_segmentor,
                              check_sizes, compare_with_onnxruntime,
                              export_onnx, random_inputs, size_unit)


def positive(value):
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f'must be positive, got {value}')
    return number


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='mmseg config file')
    parser.add_argument('--checkpoint', help='checkpoint; default: random '
                        'weights (checks the export, not a trained model)')
    parser.add_argument('--shape', type=positive, nargs=2, required=True,
                        metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--dynamic', action='store_true',
                        help='free batch, height and width')
    parser.add_argument('--opset', type=positive, default=17,
                        help='ONNX opset (default 17; dynamo writes >= 18)')
    parser.add_argument('--exporter', choices=EXPORTERS,
                        default='torchscript', help='torch.onnx exporter')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest relative logit difference accepted')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, as in mmseg tools')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'config: no such file {args.config!r}')
    if args.checkpoint is None:
        print('WARNING: no --checkpoint: exporting RANDOM weights',
              file=sys.stderr)
    model = SegmentorLogits(
        build_segmentor(args.config, args.checkpoint, args.cfg_options))
    export_input, = random_inputs([(1, *args.shape)])
    opset = export_onnx(model, args.out, export_input, args.dynamic,
                        args.opset, args.exporter)
    print(f'wrote {args.out} ({args.exporter} exporter, opset {opset}, '
          f'{"dynamic" if args.dynamic else "static"} shape)')
    checks = [export_input]
    if args.dynamic:
        checks += random_inputs(check_sizes(args.shape, size_unit(model)),
                                seed=1)
    worst = 0.0
    print(f'{"input":>22}  {"max abs diff":>12}  {"max rel diff":>12}')
    for inputs in checks:
        abs_diff, rel_diff = compare_with_onnxruntime(model, args.out, inputs)
        worst = max(worst, rel_diff)
        print(f'{str(tuple(inputs.shape)):>22}  {abs_diff:12.3e}  '
              f'{rel_diff:12.3e}')
    verdict = 'OK' if worst <= args.tolerance else 'FAILED'
    print(f'{verdict}: largest relative difference {worst:.3e}, tolerance '
          f'{args.tolerance:.0e}')
    return 0 if verdict == 'OK' else 1


if __name__ == '__main__':
    sys.exit(main())
