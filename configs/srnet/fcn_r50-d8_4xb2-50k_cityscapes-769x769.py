# The dilated-FCN baseline of SR paper Tables III and IV (74.8 mIoU, 23.63M
# parameters): the SRNet setting (R-50-D8, 769x769, 50k iterations) with a
# 1x1 classifier on the backbone's 2048 channels in place of the SR head.
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='FCNHead',
        in_channels=2048,
        in_index=3,
        channels=2048,
        num_convs=0,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
