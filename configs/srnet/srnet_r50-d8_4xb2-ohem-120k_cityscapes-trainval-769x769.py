# The paper's final Cityscapes setting (Sec. IV-C.1, Table VII(a)): fine
# annotations of train + val, 120k iterations, online hard example mining; the
# reported numbers are multi-scale + flip on the test set (run tools/test.py
# with --tta for the multi-scale + flip part).
_base_ = './srnet_r50-d8_4xb2-80k_cityscapes-769x769.py'
model = dict(
    decode_head=dict(
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000)))
cityscapes_769 = dict(
    type='CityscapesDataset',
    data_root='data/cityscapes/',
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(
                data_prefix=dict(
                    img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
                **cityscapes_769),
            dict(
                data_prefix=dict(
                    img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
                **cityscapes_769),
        ]))
train_cfg = dict(max_iters=120000, val_interval=12000)
default_hooks = dict(checkpoint=dict(interval=12000))
# Cityscapes test server: the 1525 test images, predictions written in the
# submission format (label ids) to work_dirs/format_results, no metric (the
# labels are not public).
test_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='leftImg8bit/test', seg_map_path='gtFine/test')))
test_evaluator = dict(
    _delete_=True,
    type='CityscapesMetric',
    format_only=True,
    keep_results=True,
    output_dir='work_dirs/format_results')
