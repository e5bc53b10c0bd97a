# `mim train mmseg configs/sr_r50_cityscapes.py`: the SR head on a dilated
# ResNet-50 (output stride 8), Cityscapes 769x769 crops, 50k iterations:
# the paper's ablation setting (79.9 mIoU on val, Tables III-IV), with its
# optimiser settings (SGD, lr 0.01 poly 0.9, momentum 0.9, weight decay
# 5e-4, aux loss 0.4).
_base_ = './srnet/srnet_r50-d8_4xb2-50k_cityscapes-769x769.py'
