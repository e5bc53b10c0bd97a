# ISA paper Table 11, row "ResNet-50" (84.37 top-1): an ImageNet-1k ResNet-50
# fine-tuned on CUB-200-2011 with mmpretrain's CUB recipe (448 crops, batch
# 64, SGD with warm-up and cosine, 100 epochs). mmpretrain's own
# resnet50_8xb8_cub starts from an ImageNet-21k checkpoint instead.
_base_ = 'mmpretrain::resnet/resnet50_8xb8_cub.py'
pretrained = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'  # noqa
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone')))
