# SR paper Fig. 4(b), reduction ratio 4: the ablation setting with the block's
# input reduced to 512 / 4 = 128 channels (K = 16 nodes); ratio 2 is
# srnet_r50-d8_4xb2-50k_cityscapes-769x769. The paper gives the sweep as a plot
# without its values: the configs cover ratios 1 to 8.
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(sr_cfg=dict(ratio=4)))
