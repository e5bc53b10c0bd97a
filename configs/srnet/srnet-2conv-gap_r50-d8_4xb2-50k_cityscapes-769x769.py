# SR paper Table IV, row "+SR (GAP)" (79.1 mIoU): the SR block with global
# average pooling between the head's two 3x3 convs (the head Table IV counts;
# "+SR (GHP)" is srnet-2conv).
_base_ = './srnet-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(squeeze='gap')))
