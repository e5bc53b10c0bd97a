# SR paper Table X, row "ResNet-r101" (78.7 top-1, 44.55M, 7.849 GFLOPs).
_base_ = './resnet50_8xb32-warmup-coslr_in1k.py'
model = dict(backbone=dict(depth=101))
