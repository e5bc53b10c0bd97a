# ISA paper Tables 8-10 and 12, row "Baseline" (ADE20K): the ISA setting with
# the head reduced to what every row shares, a 3x3 conv to 512 channels and the
# classifier (the paper does not describe its FCN head). The comparison rows
# inherit it and add their module after the conv.
_base_ = './isanet_r50-d8_4xb4-152k_ade20k-520x520.py'
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
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
