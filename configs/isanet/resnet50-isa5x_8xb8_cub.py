# ISA paper Table 11, row "+ 5x Ours" (86.54 top-1): two ISA blocks in res-3
# and three in res-4, after every other bottleneck.
_base_ = './resnet50-isa1x_8xb8_cub.py'
model = dict(backbone=dict(context_after=((), (0, 2), (0, 2, 4), ())))
