# SR Table IX(b) "+SR ResNet-50": one SRBlock on the output of the second-to-
# last bottleneck of layer4 (res-5), our reading of "on the outputs of
# bottleneck in ResNet layer4" (configs/srnet/README.md); ratio 8: 256
# channels in 16 nodes.
_base_ = 'mmdet::panoptic_fpn/panoptic-fpn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
# exact resume and a 10-minute distributed timeout
# (docs/en/advanced_guides/reliability.md)
custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(timeout=600))
model = dict(
    backbone=dict(
        type='mmctx.DetContextResNet',
        context_cfg=dict(type='SRBlock', ratio=8),
        context_after=((), (), (), (1, ))))
