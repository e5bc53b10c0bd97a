# ISA paper Table 12, row "+ RCCA (Our impl.)" (78.63 mIoU): CCNet's recurrent
# criss-cross attention (mmcv's CrissCrossAttention, twice) in the ISA head's
# place, concat fusion.
_base_ = './fcn_r101-d8_4xb2-40k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        fusion='concat',
        context_cfg=dict(type='RecurrentCrissCrossAttention', recurrence=2)))
