# LIP human parsing (20 classes) as in the paper (Sec. 4.1): batch 40,
# crop 473, lr 0.007, 150 epochs = 150 * 30462 / 40 = 114.2k iterations;
# R-101 as in the paper, single-scale evaluation (CE2P protocol).
_base_ = [
    '../_base_/models/isanet_r50-d8.py', '../_base_/datasets/lip_473x473.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (473, 473)
data_preprocessor = dict(size=crop_size)
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=20),
    auxiliary_head=dict(num_classes=20))
optim_wrapper = dict(optimizer=dict(lr=0.007))
train_dataloader = dict(batch_size=10)
train_cfg = dict(max_iters=114000, val_interval=11400)
default_hooks = dict(checkpoint=dict(interval=11400))
# `mim test --tta`: a flipped left arm is a right one, so the flipped view's
# logits swap the same classes as the training flip before the views are
# averaged (mmseg's SegTTAModel would average a left arm with a right one)
tta_model = dict(
    type='mmctx.FlipSwapSegTTAModel',
    swap_classes=[(14, 15), (16, 17), (18, 19)])
