# ISA Table 7 and SR Table IX(a), row "+ NL" (R-50, 1x): mmcv's NonLocal2d
# (embedded Gaussian, reduction 2) in every bottleneck of res-4 (stage 3),
# where the non-local paper puts its block.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
# exact resume and a 10-minute distributed timeout
# (docs/en/advanced_guides/reliability.md)
custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(timeout=600))
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='NonLocal2d', reduction=2, mode='embedded_gaussian'),
            stages=(False, False, True, False),
            position='after_conv3')
    ]))
