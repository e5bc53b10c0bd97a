_base_ = './srnet_r50-d8_4xb2-ohem-120k_cityscapes-trainval-769x769.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
