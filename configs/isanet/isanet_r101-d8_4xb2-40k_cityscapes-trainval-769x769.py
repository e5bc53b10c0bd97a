# ISA paper Table 1, row "Ours" with the validation set (81.4 mIoU on
# Cityscapes test, multi-scale + flip): the R-101 Cityscapes setting trained on
# the fine annotations of train + val (the paper gives no other schedule for
# it), tested on the test server (the test config's evaluator).
_base_ = './isanet_r101-d8_4xb2-40k_cityscapes-test-769x769.py'
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
