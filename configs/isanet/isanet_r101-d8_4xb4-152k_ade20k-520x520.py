_base_ = './isanet_r50-d8_4xb4-152k_ade20k-520x520.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
