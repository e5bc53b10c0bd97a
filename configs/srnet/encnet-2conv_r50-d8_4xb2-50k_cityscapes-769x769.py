# SR paper Table IV, row "+Encoding" (77.5 mIoU): EncNet's context encoding
# (mmseg's EncModule, 32 codewords; EncHead's SE loss is not part of the row)
# between the head's two 3x3 convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        context_cfg=dict(
            type='EncodingBlock', num_codes=32, norm_cfg=norm_cfg)))
