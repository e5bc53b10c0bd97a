# SR paper Table X, row "SENet-r50" (77.8 top-1, 28.09M, 4.130 GFLOPs):
# mmpretrain's SEResNet (ratio 16) under the same schedule.
_base_ = './resnet50_8xb32-warmup-coslr_in1k.py'
model = dict(backbone=dict(type='SEResNet'))
