# PASCAL Context, 60 classes with background, with 513x513 crops (the ISA
# paper; mmseg's pascal_context.py crops 480).
_base_ = 'mmseg::_base_/datasets/pascal_context.py'
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
