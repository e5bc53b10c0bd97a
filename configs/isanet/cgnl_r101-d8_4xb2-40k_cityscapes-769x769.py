# ISA paper Table 12, row "+ CGNL (Our impl.)" (77.01 mIoU): compact
# generalized non-local (CGNLBlock, dot product, 256 channels, one group) in
# the ISA head's place, concat fusion.
_base_ = './fcn_r101-d8_4xb2-40k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        fusion='concat',
        context_cfg=dict(type='CGNLBlock', kernel='dot', groups=1)))
