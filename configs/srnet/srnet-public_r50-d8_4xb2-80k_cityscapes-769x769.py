# The public code's SRNet at ba475ba (lxtGH/SFSegNets network/srnet.py):
# ModuleHead (1x1 conv 2048 -> 512, the block, 3x3 conv + BN + ReLU,
# Dropout2d 0.1, classifier) around ChannelReasonModule(512, 256), which
# sr_cfg spells out (mmctx.models.layers.sr.public_code_cfg).
_base_ = './srnet_r50-d8_4xb2-80k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        type='mmctx.SRModuleHead',
        dropout_ratio=0.1,
        sr_cfg=dict(
            ratio=2,
            num_nodes=32,
            squeeze='ghp',
            reasoning='gcn_public',
            node_order='strided',
            ghp_scale='sum',
            ghp_projections=2,
            proj_bias=False,
            out_groups=256,
            zero_init=False,
            norm_cfg=dict(type='GN', num_groups=256))))
