# DF-Seg-v1: the DF-Seg-v2 setting on the DFNet-v1 trunk (Table V).
_base_ = './dfseg_dfnetv2_4xb4-50k_cityscapes-1024x1024.py'
model = dict(backbone=dict(arch='v1'))
