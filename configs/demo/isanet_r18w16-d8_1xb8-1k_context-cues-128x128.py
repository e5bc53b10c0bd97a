# The demo's FCN baseline with the ISA head (long-short order, concat fusion)
# in place of the FCN head; 4x4 partitions of the 16x16 feature map.
_base_ = './fcn_r18w16-d8_1xb8-1k_context-cues-128x128.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmctx.ISAHead',
        in_channels=128,
        in_index=3,
        channels=64,
        isa_channels=32,
        down_factor=(4, 4),
        dropout_ratio=0.1,
        num_classes=4,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
