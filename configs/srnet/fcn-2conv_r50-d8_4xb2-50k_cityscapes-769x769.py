# SR paper Table IV, row "+2 * 3x3": the head every context module of the table
# sits in, without one: two 3x3 convs (2048 -> 512 -> 512) and the classifier.
# The other rows of the table inherit it and set context_cfg.
_base_ = './srnet-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmctx.ContextHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        num_convs=2,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
