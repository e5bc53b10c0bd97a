# SR Table IX(a), row "+SR" (X-101 Mask-RCNN): the SR block in every bottleneck
# of stage 4 of ResNeXt-101 32x4d (the paper does not say which ResNeXt-101).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_x101-32x4d_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
# exact resume and a 10-minute distributed timeout
# (docs/en/advanced_guides/reliability.md)
custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(timeout=600))
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='SRBlock', ratio=8),
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
