"""The benchmark's presets (the papers' cost tables) and the run over
them: every row measured in one process at one input, so that ratios
between rows come from the same run.

Presets:

* ``isa-fig1`` and ``scaling``: each method as a block, C -> C at the input
  resolution. ``ISA-attn*`` / ``mmseg-ISA-attn``: our
  ``InterlacedSparseAttention`` and mmseg ``ISAHead``'s attention at equal
  settings (context only).
* ``isa-table13``: heads on 2048-channel features: a 3x3 conv to 512
  channels then the block (row ``3x3``: the conv alone), or the whole mmseg
  head for DANet, RCCA and PPM, whose published figures match those heads.
* ``sr-table4``: the block between the two 3x3 convs of an FCN head (row
  ``2x3x3``: the convs alone; the ``+`` columns are the overheads the paper
  reports), or the whole head for ASPP and PSP, as in the paper.
* ``sr-table5``: whole real-time models from their configs, random weights,
  whole-image inference from the preprocessed batch to logits at the input
  size (:class:`mmctx.deployment.SegmentorLogits`).

Heads are measured up to their classifier (``conv_seg`` removed).
"""
import gc
import sys
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .measure import Roofline, measure_module, set_with_cp, time_matmul
from .papers import (SR_TABLE4_WHOLE_HEADS, SR_TABLE5, TABLE5_CONFIGS,
                     TABLE5_REFERENCE)
from .peers import HEAD_CHANNELS, METHODS, Method, Stem


class Preset(NamedTuple):
    """``form``: 'block' (each method's block at C x H x W), 'head-isa'
    (a 3x3 conv to 512 then the block, or a whole head), 'head-sr'
    (two 3x3 convs with the block between, or a whole head) or 'model'
    (a whole segmentor from its config, input 3 x H x W).
    ``whole_heads``: methods measured as their mmseg head in head forms.
    ``quick_methods``: the rows ``--quick`` runs (those the targets are
    about), unless ``--methods`` is given."""
    input: Sequence[int]
    form: str
    methods: Sequence[str]
    quick_methods: Sequence[str] = ()
    whole_heads: Sequence[str] = ()
    sizes: Sequence[int] = ()
    quick_sizes: Sequence[int] = ()
    paper: str = ''
    source: str = ''


BLOCK_PEERS = ('GC', 'SE', 'DANet', 'RCCA', 'PPM', 'ASPP', 'EMA', 'ANN', 'Enc',
               'A2Net', 'CGNL')
OURS = ('NL', 'ISA', 'ISA-fused', 'SR-GAP', 'SR-GHP')
ISA_VS_MMSEG = ('ISA-attn', 'ISA-attn-fused', 'mmseg-ISA-attn')
PRESETS = {
    'isa-fig1':
    Preset((512, 128, 128),
           'block',
           OURS + ISA_VS_MMSEG + BLOCK_PEERS,
           quick_methods=OURS + ISA_VS_MMSEG,
           paper='isa-fig1',
           source='ISA paper Fig. 1 (Titan XP): ratios to SA'),
    'isa-table13':
    Preset((2048, 128, 128),
           'head-isa', ('3x3', ) + OURS +
           ('DANet', 'RCCA', 'CGNL', 'PPM', 'mmseg.ISAHead', 'mmctx.ISAHead'),
           quick_methods=('3x3', 'NL', 'ISA', 'SR-GAP', 'SR-GHP'),
           whole_heads=('DANet', 'RCCA', 'PPM'),
           paper='isa-table13',
           source='ISA paper Table 13 (Titan XP); paper GMAC = GFLOPs / 2'),
    'sr-table4':
    Preset((2048, 96, 96),
           'head-sr',
           ('2x3x3', ) + OURS + ('SE', 'A2Net', 'CGNL', 'RCCA', 'EMA', 'ANN',
                                 'Enc', 'PPM', 'ASPP', 'mmctx.SRHead'),
           quick_methods=('2x3x3', 'NL', 'ISA', 'SR-GAP', 'SR-GHP'),
           whole_heads=SR_TABLE4_WHOLE_HEADS,
           paper='sr-table4',
           source='SR paper Table IV (MACs): overheads over "+2 * 3x3"'),
    'sr-table5':
    Preset((3, 1024, 2048),
           'model',
           tuple(SR_TABLE5),
           quick_methods=tuple(SR_TABLE5),
           paper='sr-table5',
           source='SR paper Table V (GTX 1080 Ti, whole 1024x2048 input)'),
    'scaling':
    Preset((512, 0, 0),
           'block',
           OURS + ('GC', ),
           quick_methods=OURS,
           sizes=(32, 64, 96, 128, 160, 192, 256),
           quick_sizes=(32, 64, 128),
           source='ISA paper Fig. 4 (FLOPs vs size), SR paper Fig. 5a'),
}


def build_module(preset: Preset, name: str, in_channels: int) -> nn.Module:
    """The module measured for row ``name`` of ``preset``."""
    if preset.form == 'model':
        return whole_model(name)
    if preset.form == 'block':
        return METHODS[name].block(in_channels)
    after = preset.form == 'head-sr'
    if name in ('2x3x3', '3x3'):
        return Stem(in_channels, None, after)
    method = METHODS[name]
    if method.block is None or name in preset.whole_heads:
        return method.head(in_channels)
    return Stem(in_channels, method.block(HEAD_CHANNELS), after)


def whole_model(name: str) -> nn.Module:
    """A Table V model from its config, random weights, preprocessed batch
    to logits at the input size."""
    from _mmctx_scope import shipped_config_path
    from ..deployment import SegmentorLogits, build_segmentor
    config = shipped_config_path(TABLE5_CONFIGS[name])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # random weights: timing only
        return SegmentorLogits(build_segmentor(config))


def fits_in_memory(method: Method, hw: int, device: torch.device) -> bool:
    """Whether a dense (HW)^2 fp32 attention map, held twice (logits and
    softmax), fits in half of the free memory."""
    if not method.dense:
        return True
    need = 2 * 4 * hw**2
    if device.type == 'cuda':
        free = torch.cuda.mem_get_info(device)[0]
    else:
        import psutil
        free = psutil.virtual_memory().available
    return need < free / 2


STEPS_PER_ROW = 3  # flops, memory, latency


class Progress:
    """tqdm on stderr when installed (mmdet depends on it), else a line
    per step; silent when not ``enabled``."""

    def __init__(self, total: int, enabled: bool = True):
        self.bar = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, file=sys.stderr, unit='step')
            except ImportError:
                pass

    def step(self, text: str, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.set_description(text)
            self.bar.update(count)
        elif self.enabled:
            print(f'  {text}', file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_size(preset: Preset,
             names: Sequence[str],
             shape: Sequence[int],
             device: torch.device,
             warmup: int,
             repeats: int,
             progress: Progress,
             mode: str = 'inference',
             dtypes: Sequence[str] = ('fp32', ),
             with_cp: bool = False,
             compile: bool = False):
    """Every method of ``names`` at one input shape, in this process, once
    per dtype; with ``with_cp`` once more with it for each method that has
    the option (:func:`set_with_cp`); with ``compile`` each row also
    compiled (inductor), with its latency and memory over the eager row's
    (``latency_vs_eager``, ``mem_vs_eager``).

    Returns:
        dict: ``input``, ``mode``, ``rows`` (:func:`measure_module`'s) and
        ``skipped`` (``method`` and ``reason``).
    """
    torch.manual_seed(0)
    x = torch.randn(1, *shape, device=device)
    rows, skipped = [], []
    for name in names:
        method = METHODS.get(name)
        if method is not None and \
                not fits_in_memory(method, shape[1] * shape[2], device):
            skipped.append(dict(method=name, reason='(HW)^2 map too large'))
            progress.step(f'{name}: skipped', STEPS_PER_ROW * len(dtypes))
            continue
        try:
            module = build_module(preset, name, shape[0])
        except Exception as err:  # a peer missing from this install
            skipped.append(
                dict(method=name, reason=f'unavailable: {err!r:.120}'))
            progress.step(f'{name}: unavailable', STEPS_PER_ROW * len(dtypes))
            continue
        checkpointing = (False,
                         True) if with_cp and set_with_cp(module, False) else (
                             False, )
        for dtype in dtypes:
            for cp in checkpointing:
                eager = measure_module(module, x, name, warmup, repeats, mode,
                                       dtype, progress.step, cp)
                rows.append(eager)
                if compile:
                    rows.append(
                        against_eager(
                            measure_module(module, x, name, warmup, repeats,
                                           mode, dtype, progress.step, cp,
                                           True), eager))
        del module
        gc.collect()
    return dict(input=list(shape), mode=mode, rows=rows, skipped=skipped)


def against_eager(row: Dict, eager: Dict) -> Dict:
    """``row`` (compiled) with its latency and peak memory over ``eager``'s.
    """
    return dict(
        row,
        latency_vs_eager=round(row['latency_ms'] / eager['latency_ms'], 4),
        mem_vs_eager=round(row['peak_mem_mb'] / eager['peak_mem_mb'], 4)
        if eager['peak_mem_mb'] else None)


def reference_row(preset: Preset) -> str:
    """The row every ratio is taken against: NL, or DF-Seg-v2 for the
    whole models."""
    return TABLE5_REFERENCE if preset.form == 'model' else 'NL'


def select_rows(preset: Preset,
                quick: bool = False,
                methods: Optional[Sequence[str]] = None) -> List[str]:
    """The rows to run: the preset's (``quick``: the ones its targets are
    about), or those of ``methods`` in the preset's order, with the
    reference row and the convs-only row kept.

    Raises:
        ValueError: a name of ``methods`` is no known row.
    """
    if not methods:
        return list(preset.quick_methods if quick else preset.methods)
    unknown = [m for m in methods if m not in METHODS and m not in SR_TABLE5]
    if unknown:
        raise ValueError(f'methods: unknown {unknown}; known: '
                         f'{", ".join(list(METHODS) + list(SR_TABLE5))}')
    keep = set(methods) | {reference_row(preset), '2x3x3', '3x3'}
    return [n for n in preset.methods if n in keep]


def input_shapes(
        preset: Preset,
        quick: bool = False,
        shape: Optional[Sequence[int]] = None) -> List[Tuple[int, int, int]]:
    """The (C, H, W) inputs a run measures: the preset's, or ``shape``;
    for ``scaling`` each size up to ``shape``'s H."""
    if not preset.sizes:
        return [tuple(shape or preset.input)]
    channels = shape[0] if shape else preset.input[0]
    sizes = preset.quick_sizes if quick else preset.sizes
    if shape:
        sizes = [s for s in sizes if s <= shape[1]] or [shape[1]]
    return [(channels, s, s) for s in sizes]


def run(preset: Preset,
        names: Sequence[str],
        shapes: Sequence[Sequence[int]],
        device: torch.device,
        warmup: int,
        repeats: int,
        mode: str = 'inference',
        dtypes: Sequence[str] = ('fp32', ),
        quick_roofline: bool = False,
        progress: bool = True,
        with_cp: bool = False,
        compile: bool = False) -> Tuple[List[Dict], Roofline]:
    """Every row of ``names`` at every shape, once per dtype (and with
    ``with_cp`` once more with activation checkpointing where a module has
    it; with ``compile`` each also compiled, :func:`run_size`), and the
    device's matmul roofline, in this process.

    Returns:
        tuple: one :func:`run_size` result per shape, and the roofline.
    """
    bar = Progress(STEPS_PER_ROW * len(names) * len(shapes) * len(dtypes) + 1,
                   progress)
    bar.step('matmul roofline')
    roofline = time_matmul(device, 1024 if quick_roofline else 2048,
                           3 if quick_roofline else 5)
    results = [
        run_size(preset, names, shape, device, warmup, repeats, bar, mode,
                 dtypes, with_cp, compile) for shape in shapes
    ]
    bar.close()
    return results, roofline
