# SR Table IX(b) "+NL ResNet-101": one mmcv NonLocal2d with its defaults
# (embedded Gaussian, reduction 2: 512 inner channels) before the last
# bottleneck of res-4, where the non-local paper puts it.
_base_ = './panoptic-fpn_r50-nl1-c4_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101'),
        context_after=((), (), (21, ), ())))
