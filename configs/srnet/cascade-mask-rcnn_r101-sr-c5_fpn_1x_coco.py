_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r101_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SRBlock', ratio=8),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
