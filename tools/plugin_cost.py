"""Parameters and FLOPs that the backbone plugins add to detection configs
(:mod:`mmctx.analysis.plugin_cost`), with their share of the detector's
parameters and of the backbone's FLOPs.

Example::

    python tools/plugin_cost.py configs/srnet configs/isanet
    python tools/plugin_cost.py \
        configs/srnet/mask-rcnn_r50-sr-c5_fpn_1x_coco.py \
        --shape 800 1216 --cfg-options model.backbone.plugins.0.cfg.ratio=2

Folders are searched for detection configs (``mask-rcnn*``,
``cascade-mask-rcnn*``, ``panoptic-fpn*``). Backbones that are equal are
measured once. The default input, 800x1216, is a COCO image resized by the
stock pipeline (short side 800) and padded to a multiple of 32 (the SR paper
measures at 1200x800): stage 4 is 25x38.
"""
import argparse
import sys
from typing import Dict

from mmengine.config import DictAction

from mmctx.analysis.plugin_cost import find_configs, format_table, plugin_cost
from mmctx.cli import positive_int


def parse_args():
    parser = argparse.ArgumentParser(
        description='Parameters and FLOPs added by backbone plugins')
    parser.add_argument(
        'paths', nargs='+', help='config files or folders of configs')
    parser.add_argument(
        '--shape',
        type=positive_int,
        nargs=2,
        default=(800, 1216),
        metavar=('H', 'W'),
        help='input image size (default: 800 1216)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of every config, e.g. '
        'model.backbone.plugins.0.cfg.ratio=2')
    args = parser.parse_args()
    try:
        args.configs = find_configs(args.paths)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    return args


def main():
    args = parse_args()
    shape = tuple(args.shape)
    cache: Dict = {}
    try:
        rows = [
            plugin_cost(c, shape, cache, args.cfg_options)
            for c in args.configs
        ]
    except ValueError as error:
        sys.exit(f'error: {error}')
    print(format_table(rows, shape))


if __name__ == '__main__':
    main()
