# SR paper Table IV, row "+CGNL" (78.2 mIoU): compact generalized non-local
# (CGNLBlock, dot product, 256 channels, one group) between the head's two 3x3
# convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        context_cfg=dict(type='CGNLBlock', kernel='dot', groups=1)))
