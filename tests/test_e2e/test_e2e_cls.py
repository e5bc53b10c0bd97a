"""``mim train mmpretrain`` then ``mim test mmpretrain``, as a user runs them,
on tiny datasets generated in ImageNet's and CUB-200-2011's layouts: SR
paper Table X's SRNet-r50 and ISA paper Table 11's 5x ISA ResNet-50, two
training iterations each, then top-1 from the saved checkpoint."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

from mmctx.testing import mmpretrain_missing, output_tail  # noqa: E402

if mmpretrain_missing():
    pytest.skip(mmpretrain_missing(), allow_module_level=True)

import mmcv  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.stack]

CASES = {
    'imagenet': 'configs/srnet/srnet50_8xb32-warmup-coslr_in1k.py',
    'cub': 'configs/isanet/resnet50-isa5x_8xb8_cub.py',
}
IMAGES_PER_SPLIT = 4  # batches of 2: two training iterations in one epoch


def write_image(path, seed):
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    mmcv.imwrite(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), path)


def write_imagenet(root):
    """``train/<wnid>/*.JPEG`` and ``val/*.JPEG`` with ``meta/train.txt`` and
    ``meta/val.txt`` (``path label`` lines), as OpenMMLab prepares ImageNet;
    labels 0 (n01440764) and 1 (n01443537)."""
    wnids = ('n01440764', 'n01443537')
    lines = {'train': [], 'val': []}
    for i in range(IMAGES_PER_SPLIT):
        label = i % 2
        name = f'{wnids[label]}/{wnids[label]}_{i}.JPEG'
        write_image(osp.join(root, 'train', name), i)
        lines['train'].append(f'{name} {label}')
        name = f'ILSVRC2012_val_{i + 1:08d}.JPEG'
        write_image(osp.join(root, 'val', name), 100 + i)
        lines['val'].append(f'{name} {label}')
    os.makedirs(osp.join(root, 'meta'))
    for split, rows in lines.items():
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(rows) + '\n')


def write_cub(root):
    """CUB-200-2011's ``images/<class>/*.jpg`` with ``images.txt``,
    ``image_class_labels.txt`` and ``train_test_split.txt`` (1-based ids
    and classes; 1 = train)."""
    classes = ('001.Black_footed_Albatross', '002.Laysan_Albatross')
    images, labels, splits = [], [], []
    for i in range(2 * IMAGES_PER_SPLIT):
        label = i % 2
        name = f'{classes[label]}/{classes[label][4:]}_{i:04d}.jpg'
        write_image(osp.join(root, 'images', name), i)
        images.append(f'{i + 1} {name}')
        labels.append(f'{i + 1} {label + 1}')
        splits.append(f'{i + 1} {int(i < IMAGES_PER_SPLIT)}')
    for file, rows in (('images.txt', images), ('image_class_labels.txt',
                                                labels),
                       ('train_test_split.txt', splits)):
        with open(osp.join(root, file), 'w') as f:
            f.write('\n'.join(rows) + '\n')


def cfg_options(data_root, train=True):
    options = ['model.backbone.init_cfg=None']  # nothing downloaded
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for loader in loaders if train else loaders[1:]:
        options += [
            f'{loader}.dataset.data_root={data_root}',
            f'{loader}.batch_size=2', f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False'
        ]
    if train:
        options += [
            'train_cfg.max_epochs=1', 'default_hooks.logger.interval=1'
        ]
    return options


def mim(*args, cwd):
    result = subprocess.run(
        [osp.join(osp.dirname(sys.executable), 'mim'), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600)
    assert result.returncode == 0, (output_tail(result))
    return result.stdout + result.stderr


def top1_records(work_dir):
    """Every logged ``accuracy/top1`` under ``work_dir`` (json logs)."""
    found = []
    for root, _, files in os.walk(work_dir):
        for name in files:
            if name.endswith('.json') and name != 'scalars.json':
                with open(osp.join(root, name)) as f:
                    for line in f:
                        record = json.loads(line)
                        if 'accuracy/top1' in record:
                            found.append(record['accuracy/top1'])
    return found


@pytest.mark.parametrize('layout', sorted(CASES))
def test_mim_train_then_mim_test_reports_top1(layout, repo_root, tmp_path):
    data_root = str(tmp_path / layout)
    {'imagenet': write_imagenet, 'cub': write_cub}[layout](data_root)
    work_dir = tmp_path / 'train'
    log = mim(
        'train',
        'mmpretrain',
        CASES[layout],
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        *cfg_options(data_root),
        cwd=repo_root)
    assert re.search(r'Epoch\(train\) +\[1\]\[2/2\]', log), log[-3000:]
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    (trained_top1, ) = top1_records(work_dir)
    test_dir = tmp_path / 'test'
    mim('test',
        'mmpretrain',
        CASES[layout],
        '--checkpoint',
        str(checkpoint),
        '--work-dir',
        str(test_dir),
        '--cfg-options',
        *cfg_options(data_root, train=False),
        cwd=repo_root)
    (tested_top1, ) = top1_records(test_dir)
    # the same weights on the same four images: the same top-1
    assert tested_top1 == pytest.approx(trained_top1, abs=1e-6)
    assert tested_top1 in (0.0, 25.0, 50.0, 75.0, 100.0)
