# ISANet (Huang et al., "Interlaced Sparse Self-Attention for Semantic
# Segmentation", arXiv:1907.12273, Sec. 4.1): 3x3 conv to 512, ISA with 256
# query/key channels, concat fusion, classifier, on a dilated ResNet-50 FCN;
# mmseg's auxiliary FCN head on stage 3 (weight 0.4). mmseg's ISANet base
# with the head swapped for mmctx's (same arguments, official-code defaults).
_base_ = ['mmseg::_base_/models/isanet_r50-d8.py']
custom_imports = dict(imports=['mmctx'], allow_failed_imports=False)
model = dict(
    decode_head=dict(
        type='mmctx.ISAHead',
        isa_channels=256,
        down_factor=(8, 8),
        order='long_short',
        mask_padding=True,
        value_bias=False,
        # openseg: Dropout2d(0.05) between the fusion and the classifier
        dropout_ratio=0.05))
