"""The pictures of ``tools/visualize_context.py``: the maps
of one image's SR or ISA layer drawn over the image as the papers draw them
(an overlay with a colour bar, a marker on the chosen pixel), beside the
model's prediction."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..models.layers import InterlacedSparseAttention
from .recorder import ContextRecorder, context_layers


def check_context_layer(model, layer: Optional[str], source: str) -> str:
    """The layer to draw: ``layer``, or the model's last SR or ISA layer.

    Raises:
        ValueError: naming ``source`` (the config) when the model has no
            such layer, or ``layer`` and the names there are.
    """
    available = list(context_layers(model))
    if not available:
        from mmseg.models.decode_heads import ISAHead
        hint = ''
        if isinstance(getattr(model, 'decode_head', None), ISAHead):
            hint = (" (mmseg's own ISAHead: convert its checkpoint with "
                    "tools/convert_mmseg_isanet.py and set type='mmctx."
                    "ISAHead', value_bias=True, mask_padding=False)")
        raise ValueError(f'{source} has no SR or ISA layer (SRBlock or '
                         f'InterlacedSparseAttention){hint}')
    if layer is None:
        return available[-1]
    if layer not in available:
        raise ValueError(f'--layer {layer!r} is not an SR or ISA layer of '
                         f'{source}; it has {available}')
    return layer


class FeatureGrid:
    """Between image pixels and a layer's feature grid, from a data
    sample's ``ori_shape``, ``img_shape`` and ``batch_input_shape`` (the
    resize and the padding of the test pipeline)."""

    def __init__(self, metainfo: Dict, feature_size: Tuple[int, int]):
        self.ori = metainfo['ori_shape'][:2]
        self.img = metainfo['img_shape'][:2]
        self.batch = metainfo.get('batch_input_shape', self.img)[:2]
        self.size = tuple(feature_size)

    def to_feature(self, pixel: Sequence[int]) -> Tuple[int, int]:
        """Image pixel ``(y, x)`` -> the feature position that covers it."""
        for value, side, axis in zip(pixel, self.ori, 'yx'):
            if not 0 <= value < side:
                raise ValueError(f'--pixel {tuple(pixel)}: {axis}={value} '
                                 f'lies outside the {self.ori[0]}x'
                                 f'{self.ori[1]} image')
        return tuple(
            min(int(v * i / o * f / b), f - 1) for v, i, o, f, b in zip(
                pixel, self.img, self.ori, self.size, self.batch))

    def to_image(self, maps: Tensor) -> np.ndarray:
        """(C, h, w) maps on the grid -> (C, H, W) over the image: the
        padded part cropped, then bilinear resizing."""
        valid = [
            max(round(f * i / b), 1)
            for f, i, b in zip(self.size, self.img, self.batch)
        ]
        maps = maps[None, :, :valid[0], :valid[1]].float()
        return F.interpolate(
            maps, self.ori, mode='bilinear',
            align_corners=False)[0].cpu().numpy()


def read_image(path: str) -> np.ndarray:
    """The RGB image at ``path``, at least 2x2 pixels (mmseg's drawing
    fails on one row or column).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an image OpenCV reads, or too small.
    """
    import cv2
    if not osp.isfile(path):
        raise FileNotFoundError(f'image: no such file {path!r}')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f'image: {path!r} is not an image OpenCV reads')
    if min(image.shape[:2]) < 2:
        raise ValueError(f'image: {path!r} is {image.shape[0]}x'
                         f'{image.shape[1]} pixels; the pictures need at '
                         'least 2x2')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def predict(model, image_path: str, recorder: ContextRecorder):
    """Run ``model``'s test pipeline on the image with ``recorder`` on;
    returns the data sample."""
    with recorder, torch.no_grad():
        if _is_detector(model):
            from mmdet.apis import inference_detector
            return inference_detector(model, image_path)
        from mmseg.apis import inference_model
        return inference_model(model, image_path)


def _is_detector(model) -> bool:
    try:
        from mmdet.models.detectors import BaseDetector
    except ImportError:
        return False
    return isinstance(model, BaseDetector)


def draw_prediction(model, image: np.ndarray, sample) -> np.ndarray:
    """The prediction over ``image`` (RGB) by mmseg's or mmdet's local
    visualizer."""
    if _is_detector(model):
        from mmdet.registry import DATASETS
        from mmdet.visualization import DetLocalVisualizer as Visualizer
    else:
        from mmseg.registry import DATASETS
        from mmseg.visualization import SegLocalVisualizer as Visualizer
    visualizer = Visualizer(name=f'mmctx_context_{id(sample)}')
    # without a checkpoint, init_model sets no classes: the test set's
    meta = getattr(model, 'dataset_meta', None) or DATASETS.get(
        model.cfg.test_dataloader.dataset.type).METAINFO
    visualizer.dataset_meta = dict(meta)
    visualizer.add_datasample(
        'prediction', image, sample, draw_gt=False, show=False)
    return visualizer.get_image()


def write_pictures(model,
                   image_path: str,
                   out_dir: str,
                   source: str,
                   pixels: Optional[List[Sequence[int]]] = None,
                   layer: Optional[str] = None) -> List[str]:
    """Draw the maps of one SR or ISA layer of ``model`` for one image.

    For an ISA layer, ``attention.png``: per pixel, the image with a marker,
    the prediction and the pixel's attention map over the image (ISA Fig. 8).
    For an SR block, ``nodes.png`` (each node group's most salient channel,
    SR Fig. 6) and ``pca.png`` (the block's input and output features by
    one PCA, SR Fig. 8).

    Args:
        model: A segmentor or detector built by mmseg's ``init_model`` or
            mmdet's ``init_detector`` (it needs their ``cfg``).
        image_path (str): The image.
        out_dir (str): Where the pictures go (created).
        source (str): The config's name, for errors.
        pixels (list, optional): ``(y, x)`` image pixels for the attention
            maps. Default: None, the image's centre.
        layer (str, optional): A name of :func:`context_layers`. Default:
            None, the model's last SR or ISA layer.

    Returns:
        list[str]: The files written.
    """
    image = read_image(image_path)
    layer = check_context_layer(model, layer, source)
    recorder = ContextRecorder(model, names=[layer])
    sample = predict(model, image_path, recorder)
    grid = FeatureGrid(sample.metainfo, recorder.inputs[layer].shape[-2:])
    prediction = draw_prediction(model, image, sample)
    os.makedirs(out_dir, exist_ok=True)
    if isinstance(recorder.layers[layer], InterlacedSparseAttention):
        pixels = pixels or [(image.shape[0] // 2, image.shape[1] // 2)]
        rows = []
        for pixel in pixels:
            maps = recorder.isa_attention(layer, grid.to_feature(pixel))
            rows.append(
                (image, prediction, pixel, grid.to_image(maps.attention)))
        path = osp.join(out_dir, 'attention.png')
        plot_attention(path, rows, layer)
        return [path]
    nodes = grid.to_image(recorder.sr_node_maps(layer)[0])
    before, after = (grid.to_image(m[0]) for m in recorder.feature_pca(layer))
    paths = [osp.join(out_dir, name) for name in ('nodes.png', 'pca.png')]
    plot_nodes(paths[0], image, nodes, layer)
    plot_pca(paths[1], image, prediction, before, after, layer)
    return paths


def _figure(rows: int, columns: int, size: float = 3.0):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        rows, columns, squeeze=False, figsize=(size * columns, size * rows))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return plt, fig, axes


def _save(plt, fig, path: str, title: str) -> None:
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_attention(path, rows, layer) -> None:
    """Rows of (image + marker, prediction, attention overlay + colour
    bar), one per ``(image, prediction, pixel, map)`` of ``rows``."""
    plt, fig, axes = _figure(len(rows), 3)
    for row, (image, prediction, pixel, attention) in zip(axes, rows):
        row[0].imshow(image)
        row[1].imshow(prediction)
        row[2].imshow(image)
        shown = row[2].imshow(attention[0], cmap='jet', alpha=0.6)
        fig.colorbar(shown, ax=row[2], fraction=0.046, pad=0.02)
        for ax in (row[0], row[2]):
            ax.plot(pixel[1], pixel[0], 'x', color='red', ms=10, mew=2.5)
        row[0].set_title(f'pixel (y, x) = {tuple(pixel)}', fontsize=9)
        row[1].set_title('prediction', fontsize=9)
        row[2].set_title('attention (A^S A^L)', fontsize=9)
    _save(plt, fig, path, f'{layer}: attention of the marked pixel')


def plot_nodes(path, image, nodes, layer) -> None:
    """One overlay per node group, each with its own colour bar."""
    columns = min(len(nodes), 4)
    rows = -(-len(nodes) // columns)
    plt, fig, axes = _figure(rows, columns, size=2.6)
    for index, ax in enumerate(axes.flat):
        if index >= len(nodes):
            ax.axis('off')
            continue
        ax.imshow(image)
        shown = ax.imshow(nodes[index], cmap='jet', alpha=0.6)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
        ax.set_title(f'node group {index}', fontsize=9)
    _save(plt, fig, path, f'{layer}: most salient channel of each node group')


def plot_pca(path, image, prediction, before, after, layer) -> None:
    """Image, prediction, and the block's input and output features as
    RGB by one PCA."""
    plt, fig, axes = _figure(1, 4)
    panels = [(image, 'image'), (prediction, 'prediction'),
              (before.transpose(1, 2, 0), 'input features (PCA)'),
              (after.transpose(1, 2, 0), 'output features (same PCA)')]
    for ax, (panel, title) in zip(axes[0], panels):
        ax.imshow(
            np.clip(panel, 0, 255) if panel.dtype ==
            np.uint8 else np.clip(panel, 0, 1))
        ax.set_title(title, fontsize=9)
    _save(plt, fig, path, f'{layer}: features before and after the block')


def build_model(config: str,
                checkpoint: Optional[str] = None,
                device: str = 'cpu',
                cfg_options: Optional[Dict] = None):
    """A segmentor (mmseg's ``init_model``) or detector (mmdet's
    ``init_detector``, for ``default_scope='mmdet'``) from a config file or
    ``mmctx::<path>``. A segmentor tests in ``'whole'`` mode, so that the
    attention covers the whole image rather than one sliding window."""
    from ..cli import load_config
    cfg = load_config(config, cfg_options)
    if cfg.get('default_scope') == 'mmdet':
        from mmdet.apis import init_detector
        return init_detector(cfg, checkpoint, device=device)
    from mmseg.apis import init_model
    cfg.model.test_cfg = dict(mode='whole')
    return init_model(cfg, checkpoint, device=device)
