# DF-Seg-v2, the real-time schedule of the SR paper (Sec. IV-B.1): SGD
# (lr 0.01, momentum 0.9, weight decay 5e-4, poly 0.9), batch 16 (4x4),
# 50k iterations, random resize 0.75-2.0, 1024x1024 crops, flip, and
# whole-image 1024x2048 inference.
_base_ = [
    '../_base_/models/dfseg_dfnetv2.py',
    'mmseg::_base_/datasets/cityscapes_1024x1024.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.75, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=50000, val_interval=5000)
default_hooks = dict(checkpoint=dict(interval=5000))
