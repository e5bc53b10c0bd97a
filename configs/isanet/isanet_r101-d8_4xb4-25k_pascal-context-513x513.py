# PASCAL Context, 60 classes with background (paper Table 5), as in the
# paper (Sec. 4.1): batch 16, crop 513, lr 0.01, 80 epochs =
# 80 * 4998 / 16 = 25k iterations; R-101 as in the paper.
_base_ = [
    '../_base_/models/isanet_r50-d8.py',
    '../_base_/datasets/pascal_context_513x513.py',
    '../_base_/datasets/tta_multiscale_flip.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (513, 513)
data_preprocessor = dict(size=crop_size)
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=60),
    auxiliary_head=dict(num_classes=60),
    test_cfg=dict(mode='slide', crop_size=(513, 513), stride=(342, 342)))
train_cfg = dict(max_iters=25000, val_interval=2500)
default_hooks = dict(checkpoint=dict(interval=2500))
