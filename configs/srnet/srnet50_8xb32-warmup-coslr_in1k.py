# SR paper Table X, row "SRNet-r50" (78.1 top-1, 25.64M, 4.127 GFLOPs):
# SENet with its excitation replaced by graph reasoning over K = 16 nodes of
# the GAP vector (mmctx.SRGate in every bottleneck, no GHP).
_base_ = './resnet50_8xb32-warmup-coslr_in1k.py'
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(backbone=dict(type='mmctx.SRResNet', sr_cfg=dict(num_nodes=16)))
