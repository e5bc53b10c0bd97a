# The head SR paper Table IV counts (Sec. III-D.1): the SR block between two
# 3x3 convs (512 channels) and the classifier, without the public code's
# concat with the head input and its 2560 -> 512 3x3 fusion conv
# (configs/srnet/README.md, "Head").
_base_ = './srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
model = dict(decode_head=dict(concat_input=False))
