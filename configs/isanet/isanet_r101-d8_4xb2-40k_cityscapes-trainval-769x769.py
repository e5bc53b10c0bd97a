# ISA paper Table 1, row "Ours" with the validation set (81.4 mIoU on
# Cityscapes test, multi-scale + flip): the R-101 Cityscapes setting trained on
# the fine annotations of train + val (the paper gives no other schedule for
# it), tested on the test server.
_base_ = './isanet_r101-d8_4xb2-40k_cityscapes-769x769.py'
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
# Cityscapes test server: the 1525 test images, predictions written in the
# submission format (label ids) to work_dirs/format_results, no metric (the
# labels are not public). `mim test mmseg CONFIG --checkpoint CKPT --tta` adds
# the paper's multi-scale + flip.
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
