# SRNet's real-time model (SR paper Table V): DF-Seg-v2 with the Squeeze
# Reasoning block (paper defaults) in place of PPM on the 512-channel x5.
_base_ = '../dfseg/dfseg_dfnetv2_4xb4-50k_cityscapes-1024x1024.py'
model = dict(
    decode_head=dict(
        context='sr',
        sr_cfg=dict(ratio=2, num_nodes=16, squeeze='ghp', reasoning='gcn')))
