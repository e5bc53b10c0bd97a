"""FLOPs and parameters of a segmentor: mmseg's ``get_flops``, working; and
of an MMPretrain classifier (a config whose ``default_scope`` is
``mmpretrain``), head included, as SR paper Table X counts.

mmseg 1.2.2's ``tools/analysis_tools/get_flops.py`` (``mim run mmseg
get_flops``) stops on mmengine 0.10.7 with ``"input_shape" and "inputs"
cannot be both set``, and mmengine's counter has no handle for
``F.scaled_dot_product_attention``, which would count as free. Same command
line and report as mmseg's; the count includes SDPA like two matmuls
(multiply-adds, which mmengine calls FLOPs, as mmseg reports them).

Example::

    python tools/get_flops.py configs/isa_r50_cityscapes.py --shape 1024 2048
    python tools/get_flops.py configs/srnet/srnet50_8xb32-warmup-coslr_in1k.py
    mim run mmctx get_flops mmctx::isa_r50_cityscapes.py --shape 1024 2048
"""
import argparse
import sys

from mmengine.analysis.print_helper import _format_size
from mmengine.config import DictAction

import mmctx  # noqa: F401
from mmctx.analysis.complexity import (classifier_complexity,
                                       segmentor_complexity)
from mmctx.cli import load_config
from mmctx.deployment import check_segmentor_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Get the FLOPs of a segmentor or classifier')
    parser.add_argument('config', help='config file (or mmctx::<path>)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help="input size: S (square) or H W; default: mmseg's 2048 1024, "
        '224 for a classifier')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in mmseg tools')
    args = parser.parse_args(argv)
    if args.shape is not None and (len(args.shape) not in (1, 2)
                                   or min(args.shape) <= 0):
        parser.error('--shape takes one or two positive sizes, '
                     f'got {" ".join(map(str, args.shape))}')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options)
        classifier = cfg.get('default_scope') == 'mmpretrain'
        if not classifier:
            check_segmentor_config(cfg, cfg.filename)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    shape = args.shape or ([224] if classifier else [2048, 1024])
    shape = shape * 2 if len(shape) == 1 else shape
    count = classifier_complexity if classifier else segmentor_complexity
    result = count(cfg, shape)
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
