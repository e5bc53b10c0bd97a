# ISA paper Table 9, row "+ Ours (Short + Long)" (79.10 mIoU): the
# short-range step first, then the long-range one.
_base_ = './isanet_r101-d8_4xb2-40k_cityscapes-769x769.py'
model = dict(decode_head=dict(order='short_long'))
