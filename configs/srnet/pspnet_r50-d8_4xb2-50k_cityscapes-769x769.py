# SR paper Table IV, row "+PSP" (77.2 mIoU, +23.07M): PSPNet's head (mmseg's
# PSPHead: pool scales 1, 2, 3, 6 and a 3x3 bottleneck to 512) in place of the
# two 3x3 convs, at the Table IV setting.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='PSPHead',
        channels=512,
        pool_scales=(1, 2, 3, 6),
        in_channels=2048,
        in_index=3,
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
