# The LIP setting of ISA paper Table 10 with the head reduced to a 3x3 conv to
# 512 channels and the classifier: the base of the "+PPM" and "+SA" rows (the
# paper's LIP baseline is CE2P, which mmseg does not have: no row).
_base_ = './isanet_r101-d8_4xb10-114k_lip-473x473.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmctx.ContextHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.05,
        num_classes=20,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
