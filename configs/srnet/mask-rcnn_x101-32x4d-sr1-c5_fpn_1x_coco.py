# SR Table IX(a) "X-101 +SR" with Mask R-CNN (the paper does not say which
# ResNeXt-101): one SRBlock on the output of the second-to-last bottleneck of
# layer4 (res-5), our reading of "on the outputs of bottleneck in ResNet
# layer4" (configs/srnet/README.md); ratio 8: 256 channels in 16 nodes.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_x101-32x4d_fpn_1x_coco.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
# exact resume and a 10-minute distributed timeout
# (docs/en/advanced_guides/reliability.md)
custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(timeout=600))
model = dict(
    backbone=dict(
        type='mmctx.DetContextResNeXt',
        context_cfg=dict(type='SRBlock', ratio=8),
        context_after=((), (), (), (1, ))))
