# PASCAL VOC 2012 train + SBD aug (10,582 images) as in the paper
# (Sec. 4.1): batch 16, crop 513, lr 0.01, 80 epochs = 80 * 10582 / 16
# = 52.9k iterations; R-101 as in the paper. (The paper then fine-tunes
# on trainval before submitting to the test server.)
_base_ = [
    '../_base_/models/isanet_r50-d8.py',
    '../_base_/datasets/pascal_voc12_aug_513x513.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (513, 513)
data_preprocessor = dict(size=crop_size)
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
train_cfg = dict(max_iters=53000, val_interval=5300)
default_hooks = dict(checkpoint=dict(interval=5300))
