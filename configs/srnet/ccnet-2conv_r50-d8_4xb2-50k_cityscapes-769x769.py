# SR paper Table IV, row "+RCCA" (78.5 mIoU): CCNet's recurrent criss-cross
# attention (mmcv's CrissCrossAttention applied twice) between the head's two
# 3x3 convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        context_cfg=dict(type='RecurrentCrissCrossAttention', recurrence=2)))
