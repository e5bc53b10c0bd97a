# The demo's FCN baseline with the SR head (paper layout: GHP squeeze, GCN
# reasoning, ratio 2) in place of the FCN head.
_base_ = './fcn_r18w16-d8_1xb8-1k_context-cues-128x128.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmctx.SRHead',
        in_channels=128,
        in_index=3,
        channels=64,
        sr_cfg=dict(ratio=2, num_nodes=8, squeeze='ghp', reasoning='gcn'),
        dropout_ratio=0.1,
        num_classes=4,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
