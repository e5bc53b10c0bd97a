# SR paper Table IV, row "+ANN" (78.4 mIoU): ANN's asymmetric pyramid non-local
# block (mmseg's APNB, key pools 1, 3, 6, 8) between the head's two 3x3 convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        context_cfg=dict(type='PyramidNonLocal', norm_cfg=norm_cfg)))
