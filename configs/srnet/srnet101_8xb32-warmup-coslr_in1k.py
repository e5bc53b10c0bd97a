# SR paper Table X, row "SRNet-r101" (79.3 top-1, 44.70M, 7.858 GFLOPs).
_base_ = './srnet50_8xb32-warmup-coslr_in1k.py'
model = dict(backbone=dict(depth=101))
