# PASCAL VOC 2012 train + SBD aug (10,582 images) with 513x513 crops (the ISA
# paper; mmseg's pascal_voc12_aug.py crops 512).
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
crop_size = (513, 513)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
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
voc_root = 'data/VOCdevkit/VOC2012'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                type='PascalVOCDataset',
                data_root=voc_root,
                data_prefix=dict(
                    img_path='JPEGImages', seg_map_path='SegmentationClass'),
                ann_file='ImageSets/Segmentation/train.txt',
                pipeline=train_pipeline),
            dict(
                type='PascalVOCDataset',
                data_root=voc_root,
                data_prefix=dict(
                    img_path='JPEGImages',
                    seg_map_path='SegmentationClassAug'),
                ann_file='ImageSets/Segmentation/aug.txt',
                pipeline=train_pipeline),
        ]))
