# ISA paper Table 10, row "+ PPM" (ADE20K): PSPNet's head (mmseg's PSPHead,
# pool scales 1, 2, 3, 6, a 3x3 bottleneck to 512) in the ISA setting.
_base_ = './fcn_r50-d8_4xb4-152k_ade20k-520x520.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='PSPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.05,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
