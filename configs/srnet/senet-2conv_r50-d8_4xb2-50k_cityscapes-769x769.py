# SR paper Table IV, row "+SE" (74.6 mIoU): squeeze-and-excitation (mmseg's
# SELayer, ratio 16, sigmoid gate) between the head's two 3x3 convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(context_cfg=dict(type='SEBlock', ratio=16)))
