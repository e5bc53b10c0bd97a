# ISA paper Table 11, row "+ 1x CGNL (Our impl.)" (85.69 top-1; CGNL's own
# 85.14): the compact generalized non-local block of the official code's
# CUB setting (dot product, 8 groups, half-width theta/phi/g) where the
# 1x ISA block is.
_base_ = './resnet50-isa1x_8xb8_cub.py'
model = dict(
    backbone=dict(context_cfg=dict(_delete_=True, type='CGNLBlock', groups=8)))
