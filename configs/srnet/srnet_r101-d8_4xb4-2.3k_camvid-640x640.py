_base_ = './srnet_r50-d8_4xb4-2.3k_camvid-640x640.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
