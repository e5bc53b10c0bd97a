#!/usr/bin/env python
"""Pictures of what a model's SR or ISA layer learned, on one image.

For an ISA layer (the ISA head, or an ``ISABlock`` plugin), the attention
map of each ``--pixel`` over the image (ISA paper Fig. 8): ``attention.png``.
For an SR block, the most salient channel of each node group (SR paper Fig.
6, ``nodes.png``) and the block's input and output features by one PCA (SR
paper Fig. 8, ``pca.png``). Each beside the model's prediction.

Segmentors test in 'whole' mode here. mmseg's converted ISANet checkpoints
work with the converter's options (docs/en/model_zoo.md). Example::

    python tools/visualize_context.py CONFIG image.png --checkpoint CKPT \\
        --out work_dirs/vis --pixel 300 500 --pixel 600 900
"""
import argparse
import sys

from mmengine.config import DictAction

import mmctx  # noqa: F401
from mmctx.cli import folder_to_create, non_negative_int, torch_device
from mmctx.visualization.pictures import build_model, write_pictures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the maps of an SR or ISA layer on one image')
    parser.add_argument('config', help='config file (or mmctx::<path>)')
    parser.add_argument('image', help='image file')
    parser.add_argument('--checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        required=True,
        type=folder_to_create,
        help='folder the pictures go to')
    parser.add_argument(
        '--pixel',
        nargs=2,
        type=non_negative_int,
        action='append',
        metavar=('Y', 'X'),
        help='an image pixel whose attention to draw (repeatable; '
        'default: the centre)')
    parser.add_argument(
        '--layer',
        help='module name of the SR or ISA layer (default: the last one)')
    parser.add_argument(
        '--device', default='cpu', type=torch_device, help='e.g. cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in mmseg tools')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        model = build_model(args.config, args.checkpoint, args.device,
                            args.cfg_options)
        paths = write_pictures(model, args.image, args.out, args.config,
                               args.pixel, args.layer)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    for path in paths:
        print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
