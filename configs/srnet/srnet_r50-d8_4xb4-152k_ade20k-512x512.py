# ADE20K as in the paper (Sec. IV-C.4): batch 16, crop 512, lr 0.01,
# 120 epochs = 120 * 20210 / 16 = 151.6k iterations.
_base_ = [
    '../_base_/models/srnet_r50-d8.py', 'mmseg::_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
train_cfg = dict(max_iters=152000, val_interval=16000)
default_hooks = dict(checkpoint=dict(interval=16000))
