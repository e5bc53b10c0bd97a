# ADE20K as in the paper (Sec. 4.1): batch 16, crop 520, lr 0.02,
# 120 epochs = 120 * 20210 / 16 = 151.6k iterations.
_base_ = [
    '../_base_/models/isanet_r50-d8.py', 'mmseg::_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
crop_size = (520, 520)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(2048, 512),
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
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
optim_wrapper = dict(optimizer=dict(lr=0.02))
train_cfg = dict(max_iters=152000, val_interval=16000)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=152000,
        by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=16000))
