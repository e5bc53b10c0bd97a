# SR paper Table X, row "SENet-r101" (79.1 top-1, 49.33M, 7.863 GFLOPs).
_base_ = './seresnet50_8xb32-warmup-coslr_in1k.py'
model = dict(backbone=dict(depth=101))
