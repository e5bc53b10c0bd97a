# SR paper Table III, row "GAP" (75.3 mIoU): GAP squeeze, no reasoning: the
# pooled vector rescales the channels.
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(squeeze='gap', reasoning='none')))
