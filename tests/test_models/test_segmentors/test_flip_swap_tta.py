"""``mmctx.FlipSwapSegTTAModel``: the LIP flip test swaps left/right classes
of the flipped view, where mmseg's ``SegTTAModel`` averages a left arm with
a right one."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

import mmctx  # noqa: F401
from mmctx.deployment import randomise_
from mmctx.models.segmentors import FlipSwapSegTTAModel

LIP_CONFIG = 'configs/isanet/isanet_r101-d8_4xb10-114k_lip-473x473.py'
LIP_PAIRS = [(14, 15), (16, 17), (18, 19)]


class _Segmentor(torch.nn.Module):
    """What ``merge_preds`` reads of a segmentor."""
    out_channels = 20

    def test_step(self, data):
        raise NotImplementedError


def views(logits, flipped_logits):
    """One image seen unflipped and flipped (logits already flipped back
    in space, as mmseg's ``postprocess_result`` returns them)."""
    plain = SegDataSample(metainfo=dict(flip=False, img_path='a.jpg'))
    plain.seg_logits = PixelData(data=logits)
    flipped = SegDataSample(
        metainfo=dict(
            flip=True, flip_direction='horizontal', img_path='a.jpg'))
    flipped.seg_logits = PixelData(data=flipped_logits)
    return [[plain, flipped]]


def test_flipped_left_arm_counts_as_right_arm():
    # the unflipped view leans to "right arm" (15); the flipped view sees the
    # mirrored limb and says "left arm" (14) with more confidence
    logits = torch.zeros(20, 1, 1)
    logits[15], logits[13] = 2.0, 1.9
    flipped = torch.zeros(20, 1, 1)
    flipped[14], flipped[13] = 3.0, 2.9
    stock = SegTTAModel(module=_Segmentor()).merge_preds(
        views(logits, flipped))[0].pred_sem_seg.data[0]
    ours = FlipSwapSegTTAModel(
        module=_Segmentor(), swap_classes=LIP_PAIRS).merge_preds(
            views(logits, flipped))[0].pred_sem_seg.data[0]
    assert stock.item() == 13  # left and right votes split: "face" wins
    assert ours.item() == 15
    # the result is the mean of the views' softmax with channels swapped
    swapped = flipped[[
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 14, 17, 16, 19, 18
    ]]
    expected = (logits.softmax(0) + swapped.softmax(0)).argmax(0)
    assert torch.equal(ours, expected)


def test_unflipped_and_vertical_views_keep_their_channels():
    logits = torch.randn(20, 3, 4)
    sample = SegDataSample(
        metainfo=dict(flip=True, flip_direction='vertical', img_path='a.jpg'))
    sample.seg_logits = PixelData(data=logits.clone())
    model = FlipSwapSegTTAModel(module=_Segmentor(), swap_classes=LIP_PAIRS)
    out = model.merge_preds([[sample]])[0].pred_sem_seg.data[0]
    assert torch.equal(out, logits.argmax(0))


@pytest.mark.parametrize('pairs, match', [
    ([], 'pairs of class indices'),
    ([(14, 15, 16)], 'pairs of class indices'),
    ([(14, -1)], 'pairs of class indices'),
    ([(14, 15), (15, 16)], 'one pair'),
])
def test_bad_swap_classes_are_named(pairs, match):
    with pytest.raises(ValueError, match=match) as error:
        FlipSwapSegTTAModel(module=_Segmentor(), swap_classes=pairs)
    assert repr(pairs) in str(error.value)


def test_class_beyond_the_model_is_named():
    model = FlipSwapSegTTAModel(module=_Segmentor(), swap_classes=[(19, 20)])
    with pytest.raises(ValueError, match='beyond the 20'):
        model.merge_preds(views(torch.zeros(20, 1, 1), torch.zeros(20, 1, 1)))


def tta_config(repo_root, data_root):
    """What ``tools/test.py --tta`` of mmseg does to the LIP config, on the
    LIP sample at 65x65 (R-101-D8 on the CPU)."""
    cfg = Config.fromfile(osp.join(repo_root, LIP_CONFIG))
    cfg.model.pretrained = None
    cfg.model.data_preprocessor.size = None
    cfg.model.data_preprocessor.size_divisor = 8
    cfg.tta_pipeline[1].transforms[0][0].scale = (65, 65)
    dataset = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset.update(data_root=data_root, pipeline=cfg.tta_pipeline)
    cfg.tta_model.module = cfg.model
    return cfg.tta_model, dataset


def test_lip_config_flip_test_on_the_sample(repo_root, shared_data):
    init_default_scope('mmseg')
    model_cfg, dataset_cfg = tta_config(repo_root,
                                        osp.join(shared_data, 'lip_sample'))
    model = revert_sync_batchnorm(MODELS.build(model_cfg)).eval()
    assert isinstance(model, FlipSwapSegTTAModel)
    randomise_(model.module, seed=0)
    # only the left/right classes are predicted, so that the swap shows
    with torch.no_grad():
        model.module.decode_head.conv_seg.weight[:14] = 0.0
        model.module.decode_head.conv_seg.bias[:14] = -1e4
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[0]])
    with torch.no_grad():
        merged = model.test_step(batch)[0].pred_sem_seg.data[0]
        # pseudo_collate gives one batch per view: unflipped, flipped
        plain, flipped = (
            model.module.test_step(
                dict(
                    inputs=batch['inputs'][i],
                    data_samples=batch['data_samples'][i]))[0] for i in (0, 1))
    assert flipped.metainfo['flip']
    order = list(range(20))
    for a, b in LIP_PAIRS:
        order[a], order[b] = b, a
    expected = (plain.seg_logits.data.softmax(0) +
                flipped.seg_logits.data[order].softmax(0)).argmax(0)
    assert torch.equal(merged, expected)
    assert set(merged.unique().tolist()) == set(range(14, 20))
    # the swap matters for this image: without it some pixels differ
    unswapped = (plain.seg_logits.data.softmax(0) +
                 flipped.seg_logits.data.softmax(0)).argmax(0)
    assert not torch.equal(merged, unswapped)
