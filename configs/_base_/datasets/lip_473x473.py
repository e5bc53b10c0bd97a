# LIP human parsing (20 classes, 30,462 train / 10,000 val images), 473x473
# crops as in CE2P and the ISA paper. mmseg 1.2.2 ships LIPDataset but no
# dataset config for it. Layout (the official LIP release):
#   data/LIP/{train,val}_images/*.jpg, data/LIP/{train,val}_segmentations/*.png
dataset_type = 'LIPDataset'
data_root = 'data/LIP'
crop_size = (473, 473)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(473, 473),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    # a mirrored left arm/leg/shoe is a right one: swap those labels
    dict(
        type='RandomFlip',
        prob=0.5,
        swap_seg_labels=[(14, 15), (16, 17), (18, 19)]),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(473, 473), keep_ratio=True),
    # annotations are loaded after ``Resize``: the metric compares the
    # prediction (resized back) with the original-size ground truth
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# `--tta`: the CE2P / ISA flip test (the configs' tta_model swaps the
# left/right classes of the flipped view).
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(473, 473), keep_ratio=True)],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='train_images', seg_map_path='train_segmentations'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='val_images', seg_map_path='val_segmentations'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
