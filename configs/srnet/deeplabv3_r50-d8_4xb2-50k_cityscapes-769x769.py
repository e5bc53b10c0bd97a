# SR paper Table IV, row "+ASPP" (77.4 mIoU, +15.54M): DeepLabv3's ASPP head
# (mmseg's ASPPHead: image pooling and dilations 1, 12, 24, 36, 256 channels)
# in place of the two 3x3 convs, at the Table IV setting. mmseg fuses the
# branches with a 3x3 conv where DeepLabv3 (and the paper's count) has a 1x1:
# 2.62M more (configs/srnet/README.md).
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ASPPHead',
        channels=256,
        dilations=(1, 12, 24, 36),
        in_channels=2048,
        in_index=3,
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
