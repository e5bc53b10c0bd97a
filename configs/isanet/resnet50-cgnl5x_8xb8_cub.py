# ISA paper Table 11, row "+ 5x CGNL (Our impl.)" (86.31 top-1; CGNL's own
# 85.68): five CGNL blocks where the 5x ISA blocks are.
_base_ = './resnet50-cgnl1x_8xb8_cub.py'
model = dict(backbone=dict(context_after=((), (0, 2), (0, 2, 4), ())))
