# `mim train mmseg configs/isa_r50_cityscapes.py`: the ISA head on a dilated
# ResNet-50 (output stride 8), Cityscapes 769x769 crops, 40k iterations
# (107.6 epochs at batch 8), the paper's settings (SGD, lr 0.01 poly 0.9,
# momentum 0.9, weight decay 5e-4, aux loss 0.4).
_base_ = './isanet/isanet_r50-d8_4xb2-40k_cityscapes-769x769.py'
