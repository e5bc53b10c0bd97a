# DF-Seg-v2 (DFNet-v2 trunk, DF-Seg decoder with PPM), SR paper Table V
# baseline. Random init: the public ImageNet weights (df2_imagenet.pth) go in
# backbone.init_cfg=dict(type='Pretrained', checkpoint=...).
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(type='mmctx.DFNet', arch='v2', norm_cfg=norm_cfg),
    decode_head=dict(
        type='mmctx.DFSegHead',
        in_channels=[128, 256, 512],
        in_index=[0, 1, 2],
        context='ppm',
        pool_scales=(1, 2, 3, 6),
        fusion_channels=128,
        channels=256,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
