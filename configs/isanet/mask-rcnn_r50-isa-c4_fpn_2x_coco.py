_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_2x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='ISABlock', reduction=8),
            stages=(False, False, True, False),
            position='after_conv3')
    ]))
