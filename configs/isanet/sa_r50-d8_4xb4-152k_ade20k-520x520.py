# ISA paper Table 10, row "+ SA" (ADE20K): dense self-attention with the ISA
# head's projections (256 query/key channels, 512 value channels) and concat
# fusion: the ISA head with its two sparse steps replaced by one dense step.
_base_ = './fcn_r50-d8_4xb4-152k_ade20k-520x520.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        fusion='concat',
        context_cfg=dict(
            type='SelfAttentionUnit',
            key_channels=256,
            value_channels=512,
            out_channels=512,
            norm_cfg=norm_cfg)))
