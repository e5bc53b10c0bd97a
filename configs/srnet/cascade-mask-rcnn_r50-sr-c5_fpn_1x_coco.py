_base_ = [
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
    '../_base_/exact_resume.py'
]
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
env_cfg = dict(dist_cfg=dict(timeout=600))
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SRBlock', ratio=8),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
