# SR Table IX(b) "+SR ResNet-101": one SRBlock on the output of the second-
# to-last bottleneck of layer4 (res-5), our reading of "on the outputs of
# bottleneck in ResNet layer4" (configs/srnet/README.md); ratio 8: 256
# channels in 16 nodes.
_base_ = './panoptic-fpn_r50-sr1-c5_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
