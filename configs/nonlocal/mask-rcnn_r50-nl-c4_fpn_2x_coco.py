# ISA Table 7, row "+ NL" (2x): mmcv's NonLocal2d (embedded Gaussian, reduction
# 2) in every bottleneck of res-4 (stage 3), where the non-local paper puts its
# block.
_base_ = './mask-rcnn_r50-nl-c4_fpn_1x_coco.py'
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
