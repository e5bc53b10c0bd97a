# ISA paper Table 10, row "+ PPM" (LIP): PSPNet's head (mmseg's PSPHead, pool
# scales 1, 2, 3, 6, a 3x3 bottleneck to 512) in the ISA setting.
_base_ = './fcn_r101-d8_4xb10-114k_lip-473x473.py'
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
        num_classes=20,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
