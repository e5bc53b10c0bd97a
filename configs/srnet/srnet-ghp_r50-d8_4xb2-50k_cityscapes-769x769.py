# SR paper Table III, row "GHP" (76.3 mIoU): GHP squeeze (Eq. 4), no reasoning.
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(squeeze='ghp', reasoning='none')))
