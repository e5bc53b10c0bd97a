"""Overfit a detection config on the 2 COCO sample images (CPU proof of life).

Trains one of our detection configs (Mask R-CNN, Cascade Mask R-CNN or
Panoptic FPN with SR/ISA plugins) from scratch on the two real COCO val2017
images of the data samples' ``coco_panoptic_sample``, evaluates on the same two
images every ``--val-interval`` iterations with the config's own metric
(CocoMetric: box and mask AP; CocoPanopticMetric: PQ) and prints how the
metrics rise. Not a benchmark: two images only show that gradients reach
every part of the model, the SR/ISA plugins included, and that the
evaluation pipeline computes honest numbers.

The dataset is pointed at with ordinary ``--cfg-options``-style overrides,
printed at start so that ``mim train mmdet`` / ``mim test mmdet`` can be run
with the same ones (:func:`mmctx.testing.sample_cfg_options`).

Example::

    python .dev_scripts/overfit_det.py \
        configs/srnet/mask-rcnn_r50-sr-c5_fpn_1x_coco.py \
        --data-dir ../shared/data/coco_panoptic_sample \
        --iters 300 --val-interval 50 --work-dir work_dirs/overfit_sr

Changes made for training from scratch on two images, on top of the config:
no pretrained weights (nothing is downloaded here), so ``norm_eval=False``
and ``frozen_stages=-1`` (frozen random BatchNorm statistics and a frozen
random stem would make the backbone a fixed random function), a short
linear warm-up, then a constant learning rate (mmdet's 0.02),
gradient clipping (max norm 35), 300 proposals and 128 sampled RoIs per
image in training, and images resized to a
short side of ``--short-side`` (default 256) instead of 800.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config

from mmctx.cli import existing_folder, positive_int
from mmctx.testing import (MetricHistoryHook, format_cfg_options,
                           format_history, is_panoptic, overfit_cfg,
                           sample_cfg_options, write_thing_annotations)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detection config file')
    parser.add_argument(
        '--data-dir',
        required=True,
        type=existing_folder,
        help='the coco_panoptic_sample folder of the data samples')
    parser.add_argument('--iters', type=positive_int, default=300)
    parser.add_argument('--val-interval', type=positive_int, default=50)
    parser.add_argument('--short-side', type=positive_int, default=256)
    parser.add_argument('--lr', type=float, default=0.02)
    parser.add_argument(
        '--work-dir', default=None, help='default: work_dirs/overfit_<name>')
    return parser.parse_args()


def main():
    args = parse_args()
    from mmengine.runner import Runner

    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'overfit_{name}')
    os.makedirs(work_dir, exist_ok=True)
    cfg = Config.fromfile(args.config)
    ann_file = None
    if not is_panoptic(cfg):
        ann_file = write_thing_annotations(
            args.data_dir, osp.join(work_dir, 'instances_sample.json'))
    options = sample_cfg_options(cfg, args.data_dir, ann_file, args.short_side)
    print('dataset overrides (--cfg-options):\n  ' +
          format_cfg_options(options))
    cfg.merge_from_dict(options)
    overfit_cfg(cfg, args.iters, args.val_interval, args.lr, work_dir)

    history_hook = MetricHistoryHook()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(history_hook)
    runner.train()
    print(f'\n{name}: {args.iters} iterations on 2 images, '
          f'short side {args.short_side}, CPU')
    print(format_history(history_hook.history))


if __name__ == '__main__':
    main()
