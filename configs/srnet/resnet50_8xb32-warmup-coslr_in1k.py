# SR paper Table X, row "ResNet-r50" (77.5 top-1, 25.56M, 4.122 GFLOPs): the
# baseline under the paper's ImageNet schedule (Sec. IV-E): SGD, batch 256,
# weight decay 1e-4, 224 crops, cosine learning rate with warm-up ([91]:
# 5 linear epochs). The paper gives no epoch count; mmpretrain's 100.
_base_ = 'mmpretrain::resnet/resnet50_8xb32-coslr_in1k.py'
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=95, by_epoch=True, begin=5, end=100)
]
