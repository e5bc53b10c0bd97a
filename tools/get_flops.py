"""FLOPs and parameters of a segmentor: mmseg's ``get_flops``, working.

mmseg 1.2.2's ``tools/analysis_tools/get_flops.py`` (``mim run mmseg
get_flops``) stops on mmengine 0.10.7 with ``"input_shape" and "inputs"
cannot be both set``, and mmengine's counter has no handle for
``F.scaled_dot_product_attention``, which would count as free. Same command
line and report as mmseg's; the count includes SDPA like two matmuls
(multiply-adds, which mmengine calls FLOPs, as mmseg reports them).

Example::

    python tools/get_flops.py configs/isa_r50_cityscapes.py --shape 1024 2048
    mim run mmctx get_flops mmctx::isa_r50_cityscapes.py --shape 1024 2048
"""
import argparse
import sys

from mmengine.analysis.print_helper import _format_size
from mmengine.config import DictAction

import mmctx  # noqa: F401
from mmctx.analysis.complexity import (load_segmentor_config,
                                       segmentor_complexity)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Get the FLOPs of a segmentor')
    parser.add_argument('config', help='config file (or mmctx::<path>)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=[2048, 1024],
        help="input size: S (square) or H W, mmseg's order and default")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in mmseg tools')
    args = parser.parse_args(argv)
    if len(args.shape) not in (1, 2) or min(args.shape) <= 0:
        parser.error('--shape takes one or two positive sizes, '
                     f'got {" ".join(map(str, args.shape))}')
    return args


def main(argv=None):
    args = parse_args(argv)
    shape = args.shape * 2 if len(args.shape) == 1 else args.shape
    try:
        cfg = load_segmentor_config(args.config, args.cfg_options)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    result = segmentor_complexity(cfg, shape)
    split_line = '=' * 30
    if result['input_shape'] != tuple(shape):
        print(f'{split_line}\nUse size divisor set input shape '
              f'from {tuple(shape)} to {result["input_shape"]}')
    print(f'{split_line}\nCompute type: direct: randomly generate a picture\n'
          f'Input shape: {result["input_shape"]}\n'
          f'Flops: {_format_size(result["flops"])}\n'
          f'Params: {_format_size(result["params"])}\n{split_line}')
    return result


if __name__ == '__main__':
    main()
