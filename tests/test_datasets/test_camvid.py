"""CamVidDataset on generated files laid out like the SegNet split."""
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mmctx  # noqa: F401  (registers mmctx.CamVidDataset)
from mmctx.datasets import CamVidDataset

NAMES = ('0001TP_006690', 'Seq05VD_f00000')


@pytest.fixture()
def camvid_root(tmp_path):
    """Two 8x6 RGB images per split; labels cycle through 0..11 (11 = void)."""
    rng = np.random.default_rng(0)
    for split in ('train', 'val', 'test'):
        for i, name in enumerate(NAMES):
            image = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
            label = ((np.arange(48) + i) % 12).astype(np.uint8).reshape(6, 8)
            mmcv.imwrite(image, str(tmp_path / split / f'{name}.png'))
            mmcv.imwrite(label,
                         str(tmp_path / f'{split}annot' / f'{name}.png'))
    return tmp_path


def _dataset_cfg(repo_root, data_root, split):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/datasets/camvid.py'))
    cfg.merge_from_dict(
        {f'{split}_dataloader.dataset.data_root': str(data_root)})
    return cfg[f'{split}_dataloader'].dataset


def test_metainfo():
    meta = CamVidDataset.METAINFO
    assert len(meta['classes']) == 11 == len(meta['palette'])
    assert meta['classes'][0] == 'Sky' and meta['classes'][-1] == 'Bicyclist'


@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_config_splits_load_pairs(repo_root, camvid_root, split):
    init_default_scope('mmseg')
    dataset = DATASETS.build(_dataset_cfg(repo_root, camvid_root, split))
    assert isinstance(dataset, CamVidDataset)
    assert len(dataset) == 2
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(camvid_root, split, f'{NAMES[0]}.png')
    assert info['seg_map_path'] == osp.join(camvid_root, f'{split}annot',
                                            f'{NAMES[0]}.png')


def test_void_maps_to_ignore_and_classes_keep_ids(repo_root, camvid_root):
    init_default_scope('mmseg')
    cfg = _dataset_cfg(repo_root, camvid_root, 'test')
    # the test pipeline minus the 960x720 resize: compare pixel by pixel
    cfg.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    dataset = DATASETS.build(cfg)
    for i in range(2):
        raw = ((np.arange(48) + i) % 12).reshape(6, 8)
        gt = dataset[i]['data_samples'].gt_sem_seg.data[0].numpy()
        expected = np.where(raw == 11, 255, raw)
        np.testing.assert_array_equal(gt, expected)


def test_class_subset_remaps_and_keeps_void_ignored(camvid_root):
    init_default_scope('mmseg')
    dataset = CamVidDataset(
        data_root=str(camvid_root),
        data_prefix=dict(img_path='val', seg_map_path='valannot'),
        metainfo=dict(classes=('Road', 'Car')),
        pipeline=[dict(type='LoadAnnotations')])
    gt = dataset[0]['gt_seg_map']
    raw = (np.arange(48) % 12).reshape(6, 8)
    expected = np.full_like(raw, 255)
    expected[raw == 3] = 0  # Road
    expected[raw == 8] = 1  # Car
    np.testing.assert_array_equal(gt, expected)
    assert dataset.metainfo['palette'] == [[128, 64, 128], [64, 0, 128]]
