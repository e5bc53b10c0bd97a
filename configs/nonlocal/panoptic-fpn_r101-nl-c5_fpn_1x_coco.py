# SR Table IX(b), row "+NL" (ResNet-101): mmcv's NonLocal2d (embedded Gaussian,
# reduction 2) in every bottleneck of stage 4 (c5), as the R-101 SR and ISA
# configs: res-4 of R-101 has 23 bottlenecks.
_base_ = 'mmdet::panoptic_fpn/panoptic-fpn_r101_fpn_1x_coco.py'
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
            stages=(False, False, False, True),
            position='after_conv3')
    ]))
