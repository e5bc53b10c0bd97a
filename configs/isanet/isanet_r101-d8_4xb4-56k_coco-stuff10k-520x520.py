# COCO-Stuff 10k (171 classes) as in the paper (Sec. 4.1): batch 16,
# crop 520, lr 0.01, 100 epochs = 100 * 9000 / 16 = 56.3k iterations;
# R-101 as in the paper.
_base_ = [
    '../_base_/models/isanet_r50-d8.py',
    '../_base_/datasets/coco-stuff10k_520x520.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (520, 520)
data_preprocessor = dict(size=crop_size)
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=171),
    auxiliary_head=dict(num_classes=171))
train_cfg = dict(max_iters=56000, val_interval=5600)
default_hooks = dict(checkpoint=dict(interval=5600))
