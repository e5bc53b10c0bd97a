"""Context Cues: a synthetic segmentation dataset that needs global context.

Generated deterministically from a seed by :func:`render_sample`, written
once to mmseg's ``img_dir/ann_dir`` layout by :func:`generate_split` and
served by :class:`ContextCuesDataset`, which generates its split on first
use. See the class docstring for the design.
"""
import contextlib
import json
import os
import os.path as osp
import shutil
import tempfile
import zlib
from typing import Dict, Tuple

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import numpy as np
from mmseg.datasets import BaseSegDataset
from PIL import Image

from ..registry import DATASETS

GENERATOR_VERSION = 1
STAMP_NAME = '.context_cues.json'

BACKGROUND, RING, STRIPES_WARM, STRIPES_COLD = range(4)
WARM_DOT = np.array([215, 60, 45])
COLD_DOT = np.array([45, 85, 215])
RING_COLOUR = np.array([60, 170, 75])
DOT_MAJORITY = (0.85, 1.0)


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one image: a function of (seed, split, index) only,
    so splits never share images and any image can be rendered alone."""
    return np.random.default_rng([seed, zlib.crc32(split.encode()), index])


def _disc(size: int, cy: float, cx: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (yy - cy)**2 + (xx - cx)**2 <= radius**2


def _place_objects(rng, size, radii):
    """Centres for discs of the given radii that do not overlap (with a
    gap) and stay inside the image; objects that find no room are
    dropped."""
    placed = []
    for radius in radii:
        for _ in range(50):
            cy, cx = rng.uniform(radius + 2, size - radius - 2, size=2)
            if all(
                    np.hypot(cy - y, cx - x) > radius + r + 6
                    for y, x, r in placed):
                placed.append((cy, cx, radius))
                break
    return placed


def _stripes(rng, size):
    """A grey stripe texture of random period, orientation and phase: the
    one texture of both striped classes."""
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(5, 8)
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi *
                  (xx * np.cos(angle) + yy * np.sin(angle)) / period + phase)
    return np.where(wave > 0, 215.0, 45.0)


def _scatter_dots(rng, size, keep_out, count, radius=2):
    """Dot centres on the background at least ``keep_out`` pixels away
    from every object and from each other."""
    allowed = ~keep_out
    dots = []
    for _ in range(count * 40):
        if len(dots) == count:
            break
        cy, cx = rng.integers(radius, size - radius, size=2)
        if allowed[cy, cx] and all(
                abs(cy - y) + abs(cx - x) > 2 * radius + 2 for y, x in dots):
            dots.append((cy, cx))
    return dots


def render_sample(rng: np.random.Generator,
                  size: int = 128,
                  with_cues: bool = False) -> Tuple:
    """Render one image, its label map and its scene.

    Args:
        rng (np.random.Generator): The image's generator
            (:func:`sample_rng`).
        size (int): Height and width in pixels. Default: 128.
        with_cues (bool): Also return where the dots are. Default: False.

    Returns:
        tuple: ``(image, label, scene)``: uint8 RGB ``(size, size, 3)``,
        uint8 labels ``(size, size)`` with the class indices of
        :class:`ContextCuesDataset`, and ``'warm'`` or ``'cold'``; with
        ``with_cues``, a fourth item: bool ``(size, size)``, True on the
        dots (the cues, labelled background).
    """
    scale = size / 128
    num_striped = int(rng.integers(1, 3))
    num_rings = int(rng.integers(0, 3))
    radii = np.concatenate([
        rng.uniform(12, 20, num_striped) * scale,
        rng.uniform(7, 11, num_rings) * scale
    ])
    kinds = ['stripes'] * num_striped + ['ring'] * num_rings
    placed = _place_objects(rng, size, radii)

    background = rng.uniform(90, 150)
    image = np.full((size, size, 3), background)
    label = np.zeros((size, size), np.uint8)

    # The scene is the colour of the majority of the dots; which colour that
    # is cannot be read from any one neighbourhood of an object.
    num_dots = int(rng.integers(30, 46)) | 1
    majority = int(np.ceil(num_dots * rng.uniform(*DOT_MAJORITY)))
    scene = 'warm' if rng.random() < 0.5 else 'cold'
    keep_out = np.zeros((size, size), bool)
    for cy, cx, radius in placed:
        keep_out |= _disc(size, cy, cx, radius + 12 * scale)
    dots = _scatter_dots(rng, size, keep_out, num_dots)
    colours = np.array([WARM_DOT, COLD_DOT] if scene ==
                       'warm' else [COLD_DOT, WARM_DOT])
    is_minority = rng.permutation(len(dots)) >= min(majority, len(dots))
    cues = np.zeros((size, size), bool)
    for (cy, cx), minority in zip(dots, is_minority):
        dot = _disc(size, cy, cx, 2)
        image[dot] = colours[int(minority)]
        cues |= dot

    striped_class = STRIPES_WARM if scene == 'warm' else STRIPES_COLD
    for (cy, cx, radius), kind in zip(placed, kinds):
        mask = _disc(size, cy, cx, radius)
        if kind == 'stripes':
            image[mask] = _stripes(rng, size)[mask, None]
            label[mask] = striped_class
        else:
            mask &= ~_disc(size, cy, cx, radius * 0.45)
            image[mask] = RING_COLOUR
            label[mask] = RING

    image += rng.normal(0, 12, image.shape)
    image = np.clip(image, 0, 255).round().astype(np.uint8)
    return (image, label, scene, cues) if with_cues else (image, label, scene)


def generate_split(img_dir: str, ann_dir: str, split: str, num_images: int,
                   image_size: int, seed: int) -> None:
    """Write ``num_images`` rendered samples as ``{index:05d}.png`` into
    ``img_dir`` / ``ann_dir`` unless their stamps say they are already there.

    Crash-safe: images are rendered into temporary folders beside the
    targets, each gets a stamp of the settings, and both are moved into
    place at the end. A split is complete only when both folders hold the
    stamp of the current settings, so a run killed at any point (leaving
    temporary folders, or one folder moved and not the other) is regenerated
    by the next, which first removes the split's stale temporary folders. A
    folder pair neither of which holds a stamp but which has files was not
    written here and is never touched. Processes that need the same split
    (distributed training) wait for the first one under a file lock.
    """
    settings = dict(
        version=GENERATOR_VERSION,
        split=split,
        num_images=num_images,
        image_size=image_size,
        seed=seed)
    folders = (img_dir, ann_dir)
    if all(_read_stamp(d) == settings for d in folders):
        return
    parents = [osp.dirname(osp.abspath(d)) for d in folders]
    for parent in parents:
        os.makedirs(parent, exist_ok=True)
    with _exclusive(osp.join(parents[0], f'.context_cues-{split}.lock')):
        if all(_read_stamp(d) == settings for d in folders):
            return
        _refuse_foreign_files(folders)
        tmp_prefix = f'.tmp-{split}-'
        _remove_stale_temporaries(parents, tmp_prefix)
        tmp_dirs = [
            tempfile.mkdtemp(prefix=tmp_prefix, dir=p) for p in parents
        ]
        for index in range(num_images):
            image, label, _ = render_sample(
                sample_rng(seed, split, index), image_size)
            name = f'{index:05d}.png'
            Image.fromarray(image).save(osp.join(tmp_dirs[0], name))
            Image.fromarray(label).save(osp.join(tmp_dirs[1], name))
        for tmp, folder in zip(tmp_dirs, folders):
            with open(osp.join(tmp, STAMP_NAME), 'w') as f:
                json.dump(settings, f)
            if osp.isdir(folder):
                shutil.rmtree(folder)
            os.replace(tmp, folder)


def _refuse_foreign_files(folders) -> None:
    """A stamp in either folder (one may be missing after a crash between
    the moves; earlier releases stamped only ``img_dir``) marks the pair
    as written here."""
    if any(_read_stamp(folder) is not None for folder in folders):
        return
    for folder in folders:
        if osp.isdir(folder) and os.listdir(folder):
            raise FileExistsError(
                f'{folder} holds files that ContextCuesDataset did not '
                'write; point data_root at an empty or missing folder')


def _remove_stale_temporaries(parents, prefix: str) -> None:
    """Temporary folders of this split left by a killed run (safe: the
    caller holds the split's lock, so no live run is writing them)."""
    for parent in parents:
        for name in os.listdir(parent):
            if name.startswith(prefix):
                shutil.rmtree(osp.join(parent, name), ignore_errors=True)


@contextlib.contextmanager
def _exclusive(lock_path):
    """An exclusive lock on ``lock_path`` where the OS offers ``flock``
    (Linux, macOS); elsewhere no lock."""
    if fcntl is None:
        yield
        return
    with open(lock_path, 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_stamp(img_dir: str):
    try:
        with open(osp.join(img_dir, STAMP_NAME)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


@DATASETS.register_module()
class ContextCuesDataset(BaseSegDataset):
    """Synthetic scenes whose objects can only be classified with global
    context; generated on first use, nothing downloaded.

    Each image shows one to two *striped* discs, up to two green *rings*
    and 31-45 small coloured dots on a noisy grey background. The dots are
    warm (red) or cold (blue), 85-100% of them one colour: that majority
    colour is the *scene*. Every striped disc in a warm scene is class
    ``striped_warm``, in a cold scene ``striped_cold``. Both classes are
    drawn with the same texture distribution, so their identity is not in
    the object: it is a property of the whole image. No dot lies within 12
    px (at 128x128) of an object, so an object's neighbourhood holds no cue:
    a head that sees locally (a dilated FCN, whose effective receptive field
    is far smaller than its theoretical one) has to guess between the two,
    while a head that pools or attends over the whole image (SR's global
    pooling, ISA's long-range step) can read the scene off the dots. It
    is the situation of the SR paper's truck / bus / train confusion
    (Sec. I): look-alike classes told apart by the scene. Rings are
    recognisable locally and show what every model learns regardless.

    Classes: ``background`` (0), ``ring`` (1), ``striped_warm`` (2),
    ``striped_cold`` (3).

    Layout (mmseg's custom dataset layout), written once under
    ``data_root`` on first use, with a stamp recording the settings; a
    folder with other files is never overwritten::

        data_root
        ├── img_dir/<split>/00000.png ...   RGB, image_size x image_size
        └── ann_dir/<split>/00000.png ...   class indices

    Image ``i`` of a split is rendered from ``(seed, split, i)`` alone
    (:func:`sample_rng`), so the data is identical on every machine and the
    train and val splits never share an image, even with equal seeds.

    Args:
        data_prefix (dict): ``img_path`` and ``seg_map_path`` relative to
            ``data_root``. Default: ``img_dir/train`` and ``ann_dir/train``.
        num_images (int): Images to generate in the split. Default: 400.
        image_size (int): Side of the square images. Default: 128.
        seed (int): Seed of the generator. Default: 0.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`
            (``data_root``, ``pipeline``, ``indices``, ...).
    """
    METAINFO = dict(
        classes=('background', 'ring', 'striped_warm', 'striped_cold'),
        palette=[[0, 0, 0], [60, 170, 75], [230, 120, 40], [50, 120, 230]])

    def __init__(self,
                 data_prefix: Dict[str, str] = dict(
                     img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 num_images: int = 400,
                 image_size: int = 128,
                 seed: int = 0,
                 **kwargs) -> None:
        if num_images < 1:
            raise ValueError(f'num_images must be positive, got {num_images}')
        if image_size < 64:
            raise ValueError(
                f'image_size must be at least 64 to leave room for the dots '
                f'around the objects, got {image_size}')
        self.num_images = num_images
        self.image_size = image_size
        self.seed = seed
        super().__init__(
            data_prefix=data_prefix,
            img_suffix='.png',
            seg_map_suffix='.png',
            **kwargs)

    def load_data_list(self):
        """Generate the split if its folder is missing or stale, then list
        it like any :class:`BaseSegDataset`."""
        img_dir = self.data_prefix['img_path']
        generate_split(
            img_dir,
            self.data_prefix['seg_map_path'],
            split=osp.basename(osp.normpath(img_dir)),
            num_images=self.num_images,
            image_size=self.image_size,
            seed=self.seed)
        return super().load_data_list()
