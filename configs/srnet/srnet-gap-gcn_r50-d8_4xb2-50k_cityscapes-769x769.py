# SR paper Table III, row "GAP + GCN" (79.1 mIoU): GAP squeeze, graph reasoning
# over the K nodes (Eq. 5).
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(squeeze='gap', reasoning='gcn')))
