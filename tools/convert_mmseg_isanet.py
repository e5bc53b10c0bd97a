"""Convert an MMSegmentation ISANet checkpoint for ``mmctx.ISAHead``
(:mod:`mmctx.converters.mmseg_isanet` says what changes).

Usage::

    python tools/convert_mmseg_isanet.py SRC.pth DST.pth

The converted checkpoint reproduces mmseg's logits exactly with the head
options mmseg hard-codes (printed at the end)::

    model = dict(decode_head=dict(
        type='mmctx.ISAHead', value_bias=True, mask_padding=False))
"""
import argparse

import mmctx  # noqa: F401  (compat: mmengine checkpoints load on torch>=2.6)
from mmctx.converters import HEAD_OPTIONS, convert_checkpoint


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert an MMSegmentation ISANet checkpoint for '
        'mmctx.ISAHead (run it with value_bias=True, mask_padding=False).')
    parser.add_argument('src', help='mmseg ISANet checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint for mmctx.ISAHead')
    return parser.parse_args()


def main():
    args = parse_args()
    convert_checkpoint(args.src, args.dst)
    options = ', '.join(f'{k}={v}' for k, v in HEAD_OPTIONS.items())
    print(f'saved {args.dst}; load it with '
          f"decode_head=dict(type='mmctx.ISAHead', {options})")


if __name__ == '__main__':
    main()
