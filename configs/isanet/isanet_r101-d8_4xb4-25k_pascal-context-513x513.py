# PASCAL Context, 60 classes with background (paper Table 5), as in the
# paper (Sec. 4.1): batch 16, crop 513, lr 0.01, 80 epochs =
# 80 * 4998 / 16 = 25k iterations; R-101 as in the paper.
_base_ = [
    '../_base_/models/isanet_r50-d8.py',
    'mmseg::_base_/datasets/pascal_context.py',
    '../_base_/datasets/tta_multiscale_flip.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (513, 513)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(520, 520),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
data_preprocessor = dict(size=crop_size)
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=60),
    auxiliary_head=dict(num_classes=60),
    test_cfg=dict(mode='slide', crop_size=(513, 513), stride=(342, 342)))
train_cfg = dict(max_iters=25000, val_interval=2500)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=25000,
        by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=2500))
