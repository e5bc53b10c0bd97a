# ISA paper Table 12, row "+ SA-2x (Our impl.)" (76.49 mIoU): the "+ SA" row on
# a map max-pooled 2x before the dense affinity and upsampled after (openseg's
# _SelfAttentionBlock(scale=2)).
_base_ = './fcn_r101-d8_4xb2-40k_cityscapes-769x769.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        fusion='concat',
        context_cfg=dict(
            type='DownsampledSelfAttention',
            key_channels=256,
            value_channels=512,
            out_channels=512,
            scale=2,
            pool='max',
            norm_cfg=norm_cfg)))
