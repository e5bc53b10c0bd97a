# SR paper Table III, row "GHP + FC" (76.8 mIoU): GHP squeeze, one fully
# connected layer over the vector.
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(squeeze='ghp', reasoning='fc')))
