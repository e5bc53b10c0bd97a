# SR paper Table IV, row "+NL" (78.0 mIoU): mmcv's NonLocal2d (embedded
# Gaussian, reduction 2) between the head's two 3x3 convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        context_cfg=dict(
            type='NonLocal2d', reduction=2, mode='embedded_gaussian')))
