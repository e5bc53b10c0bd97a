# ISA Table 7 "+ NL" (2x): one mmcv NonLocal2d with its defaults (embedded
# Gaussian, reduction 2: 512 inner channels) before the last bottleneck of
# res-4, where the non-local paper puts it.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_2x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
# exact resume and a 10-minute distributed timeout
# (docs/en/advanced_guides/reliability.md)
custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(timeout=600))
model = dict(
    backbone=dict(
        type='mmctx.DetContextResNet',
        context_cfg=dict(type='NonLocal2d'),
        context_after=((), (), (4, ), ())))
