# ISA Table 7 "+ Ours" (2x): one ISABlock before the last bottleneck of res-4
# (ISA Sec. 4.2), at NonLocal2d's width: reduction 2, 512 value and 256 key
# channels.
_base_ = './mask-rcnn_r50-isa1-c4_fpn_1x_coco.py'
train_cfg = dict(max_epochs=24)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=24,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
