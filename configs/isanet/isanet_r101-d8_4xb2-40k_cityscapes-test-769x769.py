# ISA paper Table 1, row "Ours" without the validation set (80.3 mIoU on
# Cityscapes test, multi-scale + flip): the R-101 Cityscapes config, whose `mim
# test` writes the test-server submission instead of evaluating on val.
_base_ = './isanet_r101-d8_4xb2-40k_cityscapes-769x769.py'
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
