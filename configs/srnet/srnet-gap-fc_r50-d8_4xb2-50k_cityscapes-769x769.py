# SR paper Table III, row "GAP + FC" (76.6 mIoU): GAP squeeze, one fully
# connected layer over the vector.
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(squeeze='gap', reasoning='fc')))
