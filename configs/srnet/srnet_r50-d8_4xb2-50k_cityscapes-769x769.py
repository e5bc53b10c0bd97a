# The paper's ablation setting (Sec. IV-A.1, Tables III-IV): R-50, 769x769
# crops, 50k iterations, lr 0.01, sliding-window evaluation.
_base_ = './srnet_r50-d8_4xb2-80k_cityscapes-769x769.py'
train_cfg = dict(max_iters=50000, val_interval=5000)
default_hooks = dict(checkpoint=dict(interval=5000))
