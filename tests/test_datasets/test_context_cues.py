"""Context Cues: deterministic, the striped class is a function of the whole
image and of nothing local, and the dataset caches its split safely."""
import multiprocessing
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS as MMSEG_DATASETS
from PIL import Image

import mmctx  # noqa: F401
from mmctx.datasets import ContextCuesDataset, context_cues
from mmctx.datasets.context_cues import (BACKGROUND, COLD_DOT, RING,
                                         STAMP_NAME, STRIPES_COLD,
                                         STRIPES_WARM, WARM_DOT,
                                         generate_split, render_sample,
                                         sample_rng)

pytestmark = pytest.mark.smoke

SAMPLES = [render_sample(sample_rng(0, 'train', i)) for i in range(60)]


def dot_pixels(image, colour):
    """Pixels within the noise of a dot colour (noise sigma 12)."""
    return (np.abs(image.astype(int) - colour).max(-1) < 45)


def test_same_seed_split_and_index_give_the_same_image():
    a = render_sample(sample_rng(3, 'train', 7))
    b = render_sample(sample_rng(3, 'train', 7))
    assert all(np.array_equal(x, y) for x, y in zip(a[:2], b[:2]))
    for other in (sample_rng(4, 'train',
                             7), sample_rng(3, 'val',
                                            7), sample_rng(3, 'train', 8)):
        assert not np.array_equal(a[0], render_sample(other)[0])


@pytest.mark.parametrize('index', range(len(SAMPLES)))
def test_striped_class_is_the_majority_dot_colour(index):
    image, label, scene = SAMPLES[index]
    warm = dot_pixels(image, WARM_DOT).sum()
    cold = dot_pixels(image, COLD_DOT).sum()
    assert warm + cold >= 13 * 15  # at least 15 dots of 13 pixels
    assert scene == ('warm' if warm > cold else 'cold')
    striped = np.isin(label, (STRIPES_WARM, STRIPES_COLD))
    assert striped.any()
    assert set(np.unique(label[striped])) == {
        STRIPES_WARM if scene == 'warm' else STRIPES_COLD
    }


def test_no_dot_near_an_object():
    """Every object pixel is at least 10 px from every dot pixel: the cue
    is outside any small neighbourhood of an object."""
    for image, label, _ in SAMPLES[:20]:
        dots = np.argwhere(
            dot_pixels(image, WARM_DOT)
            | dot_pixels(image, COLD_DOT))
        objects = np.argwhere(label != BACKGROUND)
        distances = np.hypot(*(dots[:, None] - objects[None]).T)
        assert distances.min() >= 10


def test_both_striped_classes_have_the_same_texture():
    """The grey-level statistics inside the two striped classes agree: the
    object itself does not tell the class."""
    stats = {STRIPES_WARM: [], STRIPES_COLD: []}
    for index in range(400):
        image, label, _ = render_sample(sample_rng(1, 'stats', index), 64)
        for cls in stats:
            stats[cls].extend(image[label == cls].mean(-1))
    assert min(len(v) for v in stats.values()) > 10000
    means = {c: np.mean(v) for c, v in stats.items()}
    stds = {c: np.std(v) for c, v in stats.items()}
    assert abs(means[STRIPES_WARM] - means[STRIPES_COLD]) < 2.0
    assert abs(stds[STRIPES_WARM] - stds[STRIPES_COLD]) < 2.0


def test_all_classes_occur_and_scenes_are_balanced():
    labels = np.stack([s[1] for s in SAMPLES])
    assert set(
        np.unique(labels)) == {BACKGROUND, RING, STRIPES_WARM, STRIPES_COLD}
    warm = sum(s[2] == 'warm' for s in SAMPLES)
    assert 0.3 < warm / len(SAMPLES) < 0.7


def build(data_root, **kwargs):
    init_default_scope('mmseg')
    cfg = dict(
        type='mmctx.ContextCuesDataset',
        data_root=str(data_root),
        num_images=6,
        pipeline=[])
    cfg.update(kwargs)
    return MMSEG_DATASETS.build(cfg)


def test_generates_the_split_on_first_use_and_reuses_it(tmp_path):
    dataset = build(tmp_path)
    assert isinstance(dataset, ContextCuesDataset)
    assert len(dataset) == 6
    assert dataset.metainfo['classes'] == ContextCuesDataset.METAINFO[
        'classes']
    first = dataset[0]
    image = np.asarray(Image.open(first['img_path']))
    label = np.asarray(Image.open(first['seg_map_path']))
    expected_image, expected_label, _ = render_sample(
        sample_rng(0, 'train', 0))
    assert np.array_equal(image, expected_image)
    assert np.array_equal(label, expected_label)

    stamp = osp.join(tmp_path, 'img_dir', 'train', '.context_cues.json')
    written = os.stat(stamp).st_mtime_ns
    build(tmp_path)
    assert os.stat(stamp).st_mtime_ns == written  # reused, not rewritten
    assert len(build(tmp_path, num_images=4)) == 4  # settings changed
    assert not leftovers(tmp_path)


def leftovers(root):
    return [
        name for _, dirs, _ in os.walk(root) for name in dirs
        if name.startswith('.tmp-')
    ]


def test_concurrent_generation_of_one_split(tmp_path):
    """Ranks of a distributed run generate the same split at once: all
    succeed and the split is whole."""
    img_dir = tmp_path / 'img_dir' / 'train'
    ann_dir = tmp_path / 'ann_dir' / 'train'
    context = multiprocessing.get_context('fork')
    workers = [
        context.Process(
            target=generate_split,
            args=(str(img_dir), str(ann_dir), 'train', 40, 64, 0))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0] * 4
    names = [f'{i:05d}.png' for i in range(40)]
    for folder in (img_dir, ann_dir):
        assert sorted(os.listdir(folder)) == [STAMP_NAME] + names
    expected = render_sample(sample_rng(0, 'train', 39), 64)[0]
    written = np.asarray(Image.open(img_dir / names[-1]))
    assert np.array_equal(written, expected)
    assert not leftovers(tmp_path)


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no cleanup either."""


def killed_on_call(number, function):
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise Killed
        return function(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize(
    'step, call',
    [
        ('render_sample', 3),  # mid-way through the images
        ('rmtree', 1),  # before the old img_dir is removed
        ('replace', 1),  # img_dir removed, the new one not moved in yet
        ('rmtree', 2),  # img_dir moved in, ann_dir still the old one
        ('replace', 2),  # img_dir moved in, old ann_dir removed
    ])
def test_generation_killed_at_any_step_recovers(tmp_path, monkeypatch, step,
                                                call):
    img_dir = tmp_path / 'img_dir' / 'train'
    ann_dir = tmp_path / 'ann_dir' / 'train'
    args = (str(img_dir), str(ann_dir), 'train')
    generate_split(*args, num_images=3, image_size=64, seed=1)
    owner = {
        'render_sample': context_cues,
        'rmtree': context_cues.shutil,
        'replace': context_cues.os
    }[step]
    with monkeypatch.context() as patch:
        patch.setattr(owner, step, killed_on_call(call, getattr(owner, step)))
        with pytest.raises(Killed):
            generate_split(*args, num_images=4, image_size=64, seed=0)
    assert step != 'render_sample' or leftovers(tmp_path)

    generate_split(*args, num_images=4, image_size=64, seed=0)
    assert not leftovers(tmp_path)
    names = [f'{i:05d}.png' for i in range(4)]
    for folder, item in ((img_dir, 0), (ann_dir, 1)):
        assert sorted(os.listdir(folder)) == sorted(names + [STAMP_NAME])
        for i, name in enumerate(names):
            expected = render_sample(sample_rng(0, 'train', i), 64)[item]
            assert np.array_equal(
                np.asarray(Image.open(folder / name)), expected)


def test_a_stamp_in_either_folder_marks_the_pair_as_ours(tmp_path):
    """Killed between the two moves, or written by a release that stamped
    img_dir only: regenerated, not refused."""
    img_dir = tmp_path / 'img_dir' / 'train'
    ann_dir = tmp_path / 'ann_dir' / 'train'
    generate_split(str(img_dir), str(ann_dir), 'train', 2, 64, 0)
    shutil.rmtree(img_dir)
    (ann_dir / '00099.png').write_bytes(b'stale')
    assert len(build(tmp_path, num_images=2, image_size=64)) == 2
    assert not (ann_dir / '00099.png').exists()


def test_train_and_val_differ_with_equal_seeds(tmp_path):
    train = build(tmp_path)
    val = build(
        tmp_path,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'))
    a = np.asarray(Image.open(train[0]['img_path']))
    b = np.asarray(Image.open(val[0]['img_path']))
    assert not np.array_equal(a, b)


def test_never_overwrites_foreign_files(tmp_path):
    folder = tmp_path / 'img_dir' / 'train'
    folder.mkdir(parents=True)
    (folder / 'mine.png').write_bytes(b'not ours')
    with pytest.raises(FileExistsError, match='did not write'):
        build(tmp_path)
    assert (folder / 'mine.png').read_bytes() == b'not ours'


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_images=0), 'num_images'),
    (dict(image_size=32), 'image_size'),
])
def test_bad_arguments_name_themselves(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(tmp_path, **kwargs)
