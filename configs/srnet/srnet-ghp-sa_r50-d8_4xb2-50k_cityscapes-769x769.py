# SR paper Table III, row "GHP + SA" (79.5 mIoU): GHP squeeze, self-attention
# among the K nodes (Eq. 6).
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(sr_cfg=dict(squeeze='ghp', reasoning='attention')))
