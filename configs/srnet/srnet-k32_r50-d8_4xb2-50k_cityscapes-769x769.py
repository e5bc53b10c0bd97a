# SR paper Fig. 4(a), K = 32: the ablation setting with 32 nodes of 8 channels
# (K x M = C / 2 = 256 fixed); K = 16 is
# srnet_r50-d8_4xb2-50k_cityscapes-769x769. The paper gives the sweep as a plot
# without its K values or numbers: the configs cover K = 4 to 64.
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(num_nodes=32)))
