# SR paper Table IV, row "+A2Net" (78.1 mIoU): double attention
# (DoubleAttentionBlock, m = n = 256) between the head's two 3x3 convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(context_cfg=dict(type='DoubleAttentionBlock')))
