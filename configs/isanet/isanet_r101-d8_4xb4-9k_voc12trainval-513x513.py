# ISA paper Table 4 (83.2 mIoU on the PASCAL VOC 2012 test set), second stage:
# the trainaug model (isanet_r101-d8_4xb4-53k_voc12aug-513x513, trained first)
# fine-tuned on VOC 2012 trainval (2913 images, fine labels) and tested on the
# test server. The paper gives no schedule for this stage; this one is
# EncNet's, which the paper follows [55]: lr 0.001, 50 epochs = 50 * 2913 / 16
# = 9.1k iterations.
_base_ = './isanet_r101-d8_4xb4-53k_voc12aug-513x513.py'
load_from = 'work_dirs/isanet_r101-d8_4xb4-53k_voc12aug-513x513/iter_53000.pth'
voc_root = 'data/VOCdevkit/VOC2012'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root=voc_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/trainval.txt',
        pipeline={{_base_.train_pipeline}}))
optim_wrapper = dict(optimizer=dict(lr=0.001))
train_cfg = dict(max_iters=9000, val_interval=900)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=900))
# VOC 2012 test server: the 1456 test images, predictions written as PNGs to
# work_dirs/format_results, no metric (labels are not public: the pipeline
# loads none).
test_dataloader = dict(
    dataset=dict(
        data_prefix=dict(img_path='JPEGImages', seg_map_path=''),
        ann_file='ImageSets/Segmentation/test.txt',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(2048, 512), keep_ratio=True),
            dict(type='PackSegInputs')
        ]))
test_evaluator = dict(
    type='IoUMetric',
    iou_metrics=['mIoU'],
    format_only=True,
    output_dir='work_dirs/format_results')
