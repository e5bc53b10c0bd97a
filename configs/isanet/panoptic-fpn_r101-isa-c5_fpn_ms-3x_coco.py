_base_ = './panoptic-fpn_r50-isa-c5_fpn_ms-3x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
