# PASCAL Context, 60 classes with background, as in the paper
# (Sec. IV-C.3): batch 16, crop 480, 100 epochs = 100 * 4998 / 16 = 31.2k
# iterations, lr 0.01.
_base_ = [
    '../_base_/models/srnet_r50-d8.py',
    'mmseg::_base_/datasets/pascal_context.py',
    '../_base_/datasets/tta_multiscale_flip.py',
    '../_base_/default_runtime.py', '../_base_/schedules/poly.py'
]
crop_size = (480, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=60),
    auxiliary_head=dict(num_classes=60),
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(320, 320)))
train_cfg = dict(max_iters=31000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
