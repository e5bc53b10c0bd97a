# ISA paper Table 8, row P_h = 16, P_w = 16 (79.4 mIoU): the Cityscapes
# setting of Tables 8-10 with another partition of the long-range step.
_base_ = './isanet_r101-d8_4xb2-40k_cityscapes-769x769.py'
model = dict(decode_head=dict(down_factor=(16, 16)))
