# SR paper Table IV, row "+EMAU" (77.9 mIoU): EMANet's EM attention unit
# (mmseg's EMAModule, 64 bases, 3 stages) between the head's two 3x3 convs.
_base_ = './fcn-2conv_r50-d8_4xb2-50k_cityscapes-769x769.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(context_cfg=dict(type='EMAUnit', norm_cfg=norm_cfg)))
