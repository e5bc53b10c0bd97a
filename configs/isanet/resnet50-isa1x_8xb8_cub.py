# ISA paper Table 11, row "+ 1x Ours" (86.28 top-1): one ISA block in res-4,
# right before its last bottleneck (where CGNL and the non-local networks
# put one block). Values are half the stage's width, as a non-local block's;
# BatchNorm inside, trained with the backbone.
_base_ = './resnet50_8xb8_cub.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        type='mmctx.ContextResNet',
        context_cfg=dict(
            type='ISABlock', reduction=2, norm_cfg=dict(type='BN')),
        context_after=((), (), (4, ), ())))
