# CamVid, 11 classes, SegNet split, as in the paper (Sec. IV-C.2): crop 640,
# 100 epochs = 100 * 367 / 16 = 2.3k iterations at batch 16 (the paper gives
# no batch size for CamVid; 16 is the one it uses everywhere else).
_base_ = [
    '../_base_/models/srnet_r50-d8.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (640, 640)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
train_cfg = dict(max_iters=2300, val_interval=230)
default_hooks = dict(checkpoint=dict(interval=230))
