# ISA Table 7 "+ Ours" (2x): one ISABlock before the last bottleneck of res-4
# (ISA Sec. 4.2), at NonLocal2d's width: reduction 2, 512 value and 256 key
# channels.
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
        context_cfg=dict(type='ISABlock', reduction=2),
        context_after=((), (), (4, ), ())))
