"""The demo behind ``make demo`` (``tools/demo.py``): a dilated FCN, the SR
head and the ISA head trained side by side on Context Cues, a synthetic
dataset that needs global context, each by mmengine's Runner from its config
(``configs/demo/``), tested with mmseg's ``IoUMetric`` and costed
(parameters, MACs and CPU latency of the head); then the report and the
pictures."""
import json
import logging
import os.path as osp
import platform
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.evaluation import IoUMetric
from PIL import Image

from _mmctx_scope import shipped_config_path
from .analysis import count_flops, count_params, cpu_model, median_ms
from .datasets.context_cues import (STRIPES_COLD, STRIPES_WARM, render_sample,
                                    sample_rng)
from .models.layers import InterlacedSparseAttention
from .visualization import ContextRecorder, context_layers, isa_attention
from .visualization.pictures import (FeatureGrid, plot_attention, plot_nodes,
                                     plot_pca)

METHODS = {
    'fcn': ('FCN', 'demo/fcn_r18w16-d8_1xb8-1k_context-cues-128x128.py'),
    'sr': ('SR', 'demo/srnet_r18w16-d8_1xb8-1k_context-cues-128x128.py'),
    'isa': ('ISA', 'demo/isanet_r18w16-d8_1xb8-1k_context-cues-128x128.py'),
}
QUICK = dict(iters=40, test_images=16)
PICTURE_ROWS = 3
HEAD_COST_REPEATS = 50


class ProgressBar(Hook):
    """One line per model: a bar, the iteration, the loss and the ETA;
    redrawn in place on a terminal, every 10% in a log."""
    priority = 'VERY_LOW'

    def __init__(self, label, width=30):
        self.label = label
        self.width = width
        self.interactive = sys.stdout.isatty()
        self.start = None
        self.next_print = 0

    def before_train(self, runner):
        self.start = time.perf_counter()

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        done, total = runner.iter + 1, runner.max_iters
        if not self.interactive and done < self.next_print and done < total:
            return
        self.next_print = done + max(total // 10, 1)
        elapsed = time.perf_counter() - self.start
        eta = elapsed / done * (total - done)
        filled = round(self.width * done / total)
        bar = '#' * filled + '.' * (self.width - filled)
        loss = float(outputs['loss'].detach()) if outputs else float('nan')
        line = (f'  {self.label:<4}[{bar}] {done:>5}/{total}  loss {loss:.3f}'
                f'  {elapsed:5.0f}s elapsed, ETA {eta:4.0f}s')
        end = '\n' if not self.interactive or done == total else ''
        print('\r' + line if self.interactive else line, end=end, flush=True)


class PredictionRecorder(Hook):
    """Keeps the label maps of every test image (small: 128x128 uint8)."""

    def __init__(self):
        self.samples = []

    def after_test_iter(self,
                        runner,
                        batch_idx,
                        data_batch=None,
                        outputs=None):
        for sample in outputs:
            self.samples.append(
                dict(
                    img_path=sample.img_path,
                    pred=sample.pred_sem_seg.data[0].cpu().numpy(),
                    gt=sample.gt_sem_seg.data[0].cpu().numpy()))


def demo_config(method: str,
                work_dir: str,
                data_root: str,
                iters: Optional[int] = None,
                quick: bool = False) -> Config:
    """The method's config (``configs/demo/``) with the demo's work dir,
    data root and run length; no validation during training (the test pass
    evaluates).

    Args:
        method (str): a key of :data:`METHODS`.
        work_dir (str): the demo's folder; the run goes to
            ``<work_dir>/<method>``.
        data_root (str): the generated dataset's cache folder.
        iters (int, optional): training iterations (default: the config's,
            or :data:`QUICK`'s when ``quick``).
        quick (bool): a smoke run: :data:`QUICK`'s iterations and test
            images.
    """
    cfg = Config.fromfile(shipped_config_path(METHODS[method][1]))
    cfg.work_dir = osp.join(work_dir, method)
    cfg.visualizer.name = f'visualizer_{method}'  # one per Runner
    if iters is None and quick:
        iters = QUICK['iters']
    if iters is not None:
        cfg.train_cfg.max_iters = iters
        cfg.param_scheduler[-1].end = iters
        cfg.default_hooks.checkpoint.interval = iters
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = data_root
    if quick:
        cfg.test_dataloader.dataset.indices = QUICK['test_images']
    cfg.train_cfg.pop('val_interval', None)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return cfg


class DemoRunner(Runner):
    """mmengine's Runner with its log kept in the log file and off the
    terminal (the progress bar reports); errors still show."""

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):
                handler.setLevel(logging.ERROR)
        return logger


def per_class_iou(samples, num_classes):
    """IoU of each class over all test images, by mmseg's own functions:
    the numbers ``IoUMetric`` aggregates into mIoU."""
    areas = [
        IoUMetric.intersect_and_union(
            torch.from_numpy(s['pred']),
            torch.from_numpy(s['gt']),
            num_classes,
            ignore_index=255) for s in samples
    ]
    # (intersection, union, prediction, label) areas summed over images
    totals = [sum(parts) for parts in zip(*areas)]
    metrics = IoUMetric.total_area_to_metrics(*totals, metrics=['mIoU'])
    return (metrics['IoU'] * 100).tolist()


def head_cost(model, image_size: int, repeats: int) -> Dict:
    """Parameters, MACs and median CPU latency (batch 1) of the decode head
    on the backbone's features of one ``image_size`` image."""
    model = model.cpu().eval()
    head = model.decode_head
    cpu = torch.device('cpu')
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, image_size, image_size))
        macs = count_flops(head, tuple(feats))
        latency = median_ms(lambda: head(feats), cpu, 5, repeats)
    height, width = feats[head.in_index].shape[-2:]
    return dict(
        head_input=f'{height}x{width}',
        head_params=count_params(head),
        model_params=count_params(model),
        head_macs=macs,
        head_latency_ms=latency)


def run_method(method: str, **config_args) -> Tuple[Dict, List, Sequence]:
    """Train and test one method (``config_args``: :func:`demo_config`'s).

    Returns:
        tuple: the result row, the test images' label maps, the classes.
    """
    cfg = demo_config(method, **config_args)
    runner = DemoRunner.from_cfg(cfg)
    runner.register_hook(ProgressBar(METHODS[method][0]))
    recorder = PredictionRecorder()
    runner.register_hook(recorder)
    start = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - start
    metrics = runner.test()
    classes = runner.test_dataloader.dataset.metainfo['classes']
    image_size = cfg.test_dataloader.dataset.image_size
    iou = per_class_iou(recorder.samples, len(classes))
    # Same predictions, same mmseg functions: the two means must agree.
    if abs(np.nanmean(iou) - metrics['mIoU']) >= 0.01:
        raise RuntimeError(f'per-class IoU {iou} does not average to the '
                           f"test's mIoU {metrics['mIoU']}")
    result = dict(
        method=method,
        name=METHODS[method][0],
        config=f'configs/{METHODS[method][1]}',
        iters=runner.max_iters,
        batch_size=cfg.train_dataloader.batch_size,
        seed=cfg.randomness.seed,
        image_size=image_size,
        test_images=len(recorder.samples),
        train_seconds=train_s,
        mIoU=metrics['mIoU'],
        aAcc=metrics['aAcc'],
        mAcc=metrics['mAcc'],
        iou=dict(zip(classes, iou)),
        **head_cost(runner.model, image_size, HEAD_COST_REPEATS))
    if method != 'fcn':
        result['context'] = context_pictures(runner.model,
                                             runner.test_dataloader,
                                             cfg.work_dir)
    return result, recorder.samples, classes


def striped_centre(label: np.ndarray):
    """The striped pixel farthest from anything else: inside a disc."""
    from scipy.ndimage import distance_transform_edt
    striped = (label == STRIPES_WARM) | (label == STRIPES_COLD)
    if not striped.any():
        return None
    depth = distance_transform_edt(striped)
    return tuple(int(v) for v in np.unravel_index(depth.argmax(), depth.shape))


def cue_attention(attention: torch.Tensor, cues: np.ndarray) -> Tuple:
    """Share of ``attention`` (h, w) on the cue pixels, taking each
    feature cell's weight as spread evenly over its pixels, and the cues'
    share of the area."""
    h, w = attention.shape
    cells = cues.reshape(h, cues.shape[0] // h, w, cues.shape[1] // w)
    coverage = torch.from_numpy(cells.mean(axis=(1, 3)))
    return float(
        (attention.double().cpu() * coverage).sum()), float(cues.mean())


def context_pictures(model, loader, out_dir: str) -> Dict:
    """The maps of the model's SR or ISA head on the test images. For ISA,
    the attention of the centre of each image's striped object, measured on
    the dots (the cues) against their share of the image over every test
    image, and drawn for the first :data:`PICTURE_ROWS`; for SR, the node
    maps and the PCA of the first image with a striped object."""
    name = list(context_layers(model))[-1]
    recorder = ContextRecorder(model, names=[name])
    striped = striped_samples(model, loader, recorder)
    if not isinstance(recorder.layers[name], InterlacedSparseAttention):
        n, sample, image, prediction, grid, _ = next(striped)
        plot_nodes(
            osp.join(out_dir, 'nodes.png'), image,
            grid.to_image(recorder.sr_node_maps(name)[n]), name)
        plot_pca(
            osp.join(out_dir, 'pca.png'), image, prediction,
            *(grid.to_image(m[n]) for m in recorder.feature_pca(name)), name)
        return dict(layer=name, pictures=['nodes.png', 'pca.png'])
    rows, measured = [], []
    for n, sample, image, prediction, grid, pixel in striped:
        attention = isa_attention(recorder.layers[name],
                                  recorder.inputs[name][n:n + 1],
                                  grid.to_feature(pixel)).attention
        measured.append(cue_attention(attention[0], cue_mask(sample, loader)))
        if len(rows) < PICTURE_ROWS:
            rows.append((image, prediction, pixel, grid.to_image(attention)))
    plot_attention(osp.join(out_dir, 'attention.png'), rows, name)
    on_cues, area = np.mean(measured, axis=0)
    return dict(
        layer=name,
        pictures=['attention.png'],
        images=len(measured),
        attention_on_cues=float(on_cues),
        cue_area=float(area),
        ratio=float(on_cues / area))


def striped_samples(model, loader, recorder: ContextRecorder):
    """Test every batch with ``recorder`` on; yield, for each image with a
    striped object, ``(index in the batch, data sample, image, coloured
    prediction, FeatureGrid, striped_centre)``."""
    name, = recorder.layers
    palette = loader.dataset.METAINFO['palette']
    model.eval()
    for data in loader:
        with recorder, torch.no_grad():
            samples = model.test_step(data)
        for n, sample in enumerate(samples):
            pixel = striped_centre(sample.gt_sem_seg.data[0].cpu().numpy())
            if pixel is None:
                continue
            image = np.asarray(Image.open(sample.img_path).convert('RGB'))
            prediction = colourise(sample.pred_sem_seg.data[0].cpu().numpy(),
                                   palette)
            grid = FeatureGrid(sample.metainfo,
                               recorder.inputs[name].shape[-2:])
            yield n, sample, image, prediction, grid, pixel


def cue_mask(sample, loader) -> np.ndarray:
    """Where the dots of the test image are: re-rendered from its seed,
    checked equal to the file the model read."""
    dataset = loader.dataset
    split = osp.basename(osp.dirname(sample.img_path))
    index = int(osp.splitext(osp.basename(sample.img_path))[0])
    image, _, _, cues = render_sample(
        sample_rng(dataset.seed, split, index),
        dataset.image_size,
        with_cues=True)
    if not np.array_equal(image, np.asarray(Image.open(sample.img_path))):
        raise RuntimeError(
            f'{sample.img_path} is not the image its seed renders')
    return cues


def colourise(label, palette):
    return np.asarray(palette, np.uint8)[label]


def plot_predictions(path, samples, results, palette, num_show):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [r['name'] for r in results]
    rows = min(num_show, len(samples[0]))
    columns = ['input', 'ground truth'] + names
    fig, axes = plt.subplots(
        rows,
        len(columns),
        squeeze=False,
        figsize=(2.1 * len(columns), 2.1 * rows))
    for row in range(rows):
        first = samples[0][row]
        panels = [
            np.asarray(Image.open(first['img_path']).convert('RGB')),
            colourise(first['gt'], palette)
        ]
        panels += [colourise(s[row]['pred'], palette) for s in samples]
        for ax, panel, title in zip(axes[row], panels, columns):
            ax.imshow(panel, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_iou(path, results, classes):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    groups = list(classes) + ['mIoU']
    width = 0.8 / len(results)
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 1, 3.2))
    for i, result in enumerate(results):
        values = [result['iou'][c] for c in classes] + [result['mIoU']]
        xs = np.arange(len(groups)) + (i - (len(results) - 1) / 2) * width
        bars = ax.bar(xs, values, width, label=result['name'])
        ax.bar_label(bars, fmt='%.0f', fontsize=7)
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_ylabel('IoU (%)')
    ax.set_ylim(0, 118)
    ax.legend(loc='upper center', ncols=len(results), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def results_table(results, classes):
    header = ['head', 'mIoU'] + list(classes) + [
        'head params', 'head MACs', 'head latency', 'train time'
    ]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for r in results:
        cells = [r['name'], f'{r["mIoU"]:.2f}']
        cells += [f'{r["iou"][c]:.2f}' for c in classes]
        cells += [
            f'{r["head_params"] / 1e3:.1f} K', f'{r["head_macs"] / 1e6:.1f} M',
            f'{r["head_latency_ms"]:.2f} ms', f'{r["train_seconds"]:.0f} s'
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def settings(results: List[Dict], command: str) -> Dict:
    return dict(
        command=command,
        **{
            key: results[0][key]
            for key in ('iters', 'batch_size', 'seed', 'image_size',
                        'test_images')
        },
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpu=cpu_model(),
        python=platform.python_version())


def context_section(results: List[Dict]) -> str:
    """The report's pictures of the SR and ISA heads
    (:func:`context_pictures`), with the ISA attention on the cues."""
    lines = []
    for r in results:
        context = r.get('context')
        if context is None:
            continue
        lines.append(f'\n## What the {r["name"]} head learned '
                     f'(`{context["layer"]}`)\n')
        if 'ratio' in context:
            lines.append(
                'Attention of the centre of the largest striped object of '
                f'each test image ({context["images"]} images): '
                f'{100 * context["attention_on_cues"]:.1f}% of it falls on '
                f'the dots, which cover {100 * context["cue_area"]:.1f}% of '
                f'the image ({context["ratio"]:.2f} times their share).\n')
        lines += [
            f'![{picture}]({r["method"]}/{picture})\n'
            for picture in context['pictures']
        ]
    return '\n'.join(lines)


def write_report(work_dir: str, results: List[Dict], classes: Sequence[str],
                 command: str) -> str:
    """``report.md`` and ``report.json`` in ``work_dir``; returns the
    results table. ``command`` is the command line the report names."""
    info = settings(results, command)
    size = info['image_size']
    table = results_table(results, classes)
    text = f"""# mmctx demo: FCN, SR and ISA heads on Context Cues

`{info['command']}` ({info['iters']} iterations each, batch \
{info['batch_size']}, seed {info['seed']};
torch {info['torch']} on {info['threads']} threads of {info['cpu']}).

Same backbone (ResNetV1c-18 at quarter width, output stride 8, random init),
schedule and seed for all; only the decode head differs (`configs/demo/`).
IoU in % on {info['test_images']} validation images by mmseg's `IoUMetric`.
`striped_warm` and `striped_cold` look alike: the class is the majority
colour of the dots, which lie away from the objects
(`mmctx.ContextCuesDataset`), so a head has to look across the image to tell
them apart. `ring` is recognisable locally. Head
costs: batch 1 on a {size}x{size} image ({results[0]['head_input']} \
features), MACs by mmengine's counter, latency the median of \
{HEAD_COST_REPEATS} forwards.

{table}

![predictions](predictions.png)

![per-class IoU](iou.png)
{context_section(results)}"""
    with open(osp.join(work_dir, 'report.md'), 'w') as f:
        f.write(text)
    with open(osp.join(work_dir, 'report.json'), 'w') as f:
        json.dump(
            dict(settings=info, classes=list(classes), results=results),
            f,
            indent=2)
    return table
