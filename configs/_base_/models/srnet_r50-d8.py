# SRNet (Li et al., "Towards Efficient Scene Understanding via Squeeze
# Reasoning", TIP 2021): the SR head (Sec. III-D.1) on a dilated ResNet-50
# FCN (output stride 8, stage 3/4 dilations 2/4 like the public code's
# network/srnet.py), mmseg's auxiliary FCN head on stage 3 (weight 0.4).
_base_ = ['mmseg::_base_/models/fcn_r50-d8.py']
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmctx.SRHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        # paper defaults (Sec. IV-A.3, Table III best row): ratio 2, K = 16
        # nodes, global Hadamard pooling, GCN reasoning
        sr_cfg=dict(ratio=2, num_nodes=16, squeeze='ghp', reasoning='gcn'),
        # the public code's 2021 head (531067b, the concat layout) has no
        # dropout before the classifier; its 2024 head has (SRModuleHead)
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
