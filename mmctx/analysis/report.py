"""The benchmark's report: markdown tables with every ratio against the
reference row of the same run and the papers' figures beside ours, the
``--json`` document, and the scaling plot."""
import os
from typing import Dict, List, Optional, Sequence

from .benchmark import Preset, reference_row
from .measure import Roofline, row_label
from .papers import (ISA_FIG1_RATIOS, ISA_TABLE13, SR_TABLE4, SR_TABLE5,
                     TABLE5_REFERENCE)


def ratio(row: Dict, ref: Optional[Dict], key: str) -> Optional[float]:
    if ref is None or not ref[key]:
        return None
    return row[key] / ref[key]


def _fmt(value, spec: str, none: str = '-') -> str:
    return none if value is None else format(value, spec)


def markdown_table(result: Dict, preset: Preset, roofline: Roofline) -> str:
    """Our rows with ratios to the reference row of the same run (NL, or
    DF-Seg-v2 for ``sr-table5``), and the paper's figures beside them."""
    rows = result['rows']
    ref_name = reference_row(preset)
    ref = next((r for r in rows if r['method'] == ref_name
                and not r.get('with_cp') and not r.get('compiled')), None)
    base = next((r for r in rows if r['method'] in ('2x3x3', '3x3')), None)
    training = result.get('mode') == 'train'
    head = [
        'method', 'params (M)', 'GMAC', 'peak mem (MB)', 'latency (ms)',
        '% of matmul', f'MAC / {ref_name}', f'mem / {ref_name}',
        f'latency / {ref_name}'
    ]
    # the papers' figures are inference ones
    paper_head, paper_cells = ([], lambda row: []) if training else \
        _paper_columns(preset, ref)
    if preset.form == 'head-sr':
        head[6:6] = ['+GMAC', '+params (M)', '+mem (MB)']
    lines = [
        '| ' + ' | '.join(head + paper_head) + ' |',
        '|' + '---|' * (len(head) + len(paper_head))
    ]
    width = len(head) + len(paper_head)
    lines.append(f'| matmul {roofline.n}^3 (roofline) | - | '
                 f'{roofline.n**3 / 1e9:.2f} | - | {roofline.latency_ms:.1f} '
                 '| 100% |' + ' - |' * (width - 6))
    for row in rows:
        achieved = 2 * row['flops'] / (row['latency_ms'] * 1e-3) / 1e9
        cells = [
            row_label(row), f"{row['params'] / 1e6:.3f}",
            f"{row['flops'] / 1e9:.2f}", f"{row['peak_mem_mb']:.1f}",
            f"{row['latency_ms']:.1f}",
            '-' if training else f'{100 * achieved / roofline.gflops:.0f}%'
        ]
        if preset.form == 'head-sr':
            cells += _overhead_cells(row, base, preset)
        cells += [
            _fmt(ratio(row, ref, 'flops'), '.3f'),
            _fmt(ratio(row, ref, 'peak_mem_mb'), '.3f'),
            _fmt(ratio(row, ref, 'latency_ms'), '.3f')
        ]
        lines.append('| ' + ' | '.join(cells + paper_cells(row)) + ' |')
    for skip in result['skipped']:
        lines.append(f"| {skip['method']} | skipped: {skip['reason']} |")
    return '\n'.join(lines)


def dtype_table(result: Dict, dtypes: Sequence[str]) -> str:
    """Each method's latency and peak memory in every dtype against fp32,
    from the same run."""
    by_key = {(row_label(r), r['dtype']): r for r in result['rows']}
    others = [d for d in dtypes if d != 'fp32']
    head = ['method'] + [
        f'{key} {d} / fp32' for d in others for key in ('latency', 'mem')
    ]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for label in dict.fromkeys(row_label(r) for r in result['rows']):
        fp32 = by_key.get((label, 'fp32'))
        cells = [label]
        for d in others:
            row = by_key.get((label, d))
            for key in ('latency_ms', 'peak_mem_mb'):
                cells.append(
                    _fmt(ratio(row, fp32, key) if row else None, '.2f'))
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def compile_table(result: Dict) -> str:
    """Each compiled row's latency and peak memory against the same row
    eager, from the same run (``latency_vs_eager``, ``mem_vs_eager``)."""
    head = [
        'method', 'dtype', 'latency compiled / eager', 'mem compiled / eager'
    ]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for row in result['rows']:
        if row.get('compiled'):
            lines.append(f"| {row_label(row)} | {row['dtype']} | "
                         f"{_fmt(row.get('latency_vs_eager'), '.2f')} | "
                         f"{_fmt(row.get('mem_vs_eager'), '.2f')} |")
    return '\n'.join(lines)


def _overhead_cells(row: Dict, base: Optional[Dict],
                    preset: Preset) -> List[str]:
    if base is None or row is base or row['method'] in preset.whole_heads \
            or row['method'].startswith('mmctx.'):
        return ['', '', '']
    return [
        f"{(row['flops'] - base['flops']) / 1e9:.2f}",
        f"{(row['params'] - base['params']) / 1e6:.3f}",
        f"{row['peak_mem_mb'] - base['peak_mem_mb']:.1f}"
    ]


def _published_cells(figures, formats):
    """A row -> cells function: ``figures(method)``, the paper's figures
    for the row's method (None: it has none), each formatted with its
    entry of ``formats``; blanks where the paper has no figure."""

    def cells(row):
        fig = figures(row['method'])
        if fig is None:
            return [''] * len(formats)
        return [format(value, spec) for value, spec in zip(fig, formats)]

    return cells


def _paper_columns(preset: Preset, ref: Optional[Dict] = None):
    """Header cells and a row -> cells function for the paper's figures
    (``sr-table5``: also our FPS and FPS ratio, beside the paper's)."""
    if preset.paper == 'sr-table5':
        paper_ref = SR_TABLE5[TABLE5_REFERENCE][2]

        def cells(row):
            params, miou, fps = SR_TABLE5[row['method']]
            ours = _fmt(ratio(ref, row, 'latency_ms') if ref else None, '.2f')
            return [
                f"{1e3 / row['latency_ms']:.2f}", ours, f'{params:g}',
                f'{fps}', f'{fps / paper_ref:.2f}', f'{miou:g}'
            ]

        return [
            'FPS', f'FPS / {TABLE5_REFERENCE}', 'paper params (M)',
            'paper FPS', f'paper FPS / {TABLE5_REFERENCE}', 'paper mIoU (test)'
        ], cells
    if preset.paper == 'isa-table13':

        def table13(method):
            fig = ISA_TABLE13.get(method)
            return None if fig is None else (fig[0], fig[1] / 2, fig[2])

        return ['paper mem (MB)', 'paper GMAC',
                'paper ms'], _published_cells(table13, ('', '.1f', ''))
    if preset.paper == 'sr-table4':
        return ['paper +GMAC', 'paper +params (M)',
                'paper +mem (MB)'], _published_cells(SR_TABLE4.get,
                                                     ('g', 'g', 'g'))
    if preset.paper == 'isa-fig1':

        def fig1(method):
            if not method.startswith('ISA'):
                return None
            return tuple(ISA_FIG1_RATIOS[k]
                         for k in ('flops', 'memory', 'latency'))

        return ['paper MAC / SA', 'paper mem / SA',
                'paper time / SA'], _published_cells(fig1, ('.3f', ) * 3)
    return [], lambda row: []


def report_dict(preset_name: str, results: List[Dict], device: str) -> Dict:
    """The ``--json`` document::

        {"preset": str, "input": [C, H, W], "device": str,
         "rows": [{"method": str, "mode": "inference" | "train",
                   "dtype": "fp32" | "bf16", "with_cp": bool,
                   "compiled": bool, "params": int,
                   "flops": int (forward MACs), "peak_mem_mb": float,
                   "latency_ms": float}]}

    A compiled row (``--compile``) also has ``latency_vs_eager`` and
    ``mem_vs_eager``: its figures over the same row's eager ones.

    ``scaling`` adds ``"sizes"``: one ``{"input", "rows", "skipped"}`` per
    size; the top-level ``input`` and ``rows`` are the largest size's.
    """
    last = results[-1]
    doc = dict(
        preset=preset_name,
        input=last['input'],
        device=device,
        rows=last['rows'])
    if len(results) > 1 or preset_name == 'scaling':
        doc['sizes'] = [
            dict(input=r['input'], rows=r['rows'], skipped=r['skipped'])
            for r in results
        ]
    return doc


def plot_scaling(results: List[Dict], path: str, machine: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = [('flops', 'GMAC', 1e9), ('peak_mem_mb', 'peak memory (MB)', 1),
            ('latency_ms', 'latency (ms)', 1)]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    names = []
    for res in results:
        names += [
            row_label(r) for r in res['rows'] if row_label(r) not in names
        ]
    for ax, (key, label, scale) in zip(axes, keys):
        for name in names:
            pts = [(res['input'][1], r[key] / scale) for res in results
                   for r in res['rows'] if row_label(r) == name]
            if pts:
                ax.plot(*zip(*pts), marker='o', label=name)
        ax.set_xlabel('feature size H = W')
        ax.set_ylabel(label)
        ax.set_yscale('log')
        ax.grid(True, which='both', alpha=0.3)
    axes[0].legend(fontsize=8)
    channels = results[0]['input'][0]
    fig.suptitle(
        f'Cost against feature size, {channels} channels, batch 1 '
        f'({machine})',
        fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def format_report(results: List[Dict], preset: Preset, roofline: Roofline,
                  dtypes: Sequence[str], device_type: str,
                  seconds: float) -> str:
    """The whole text report of a run: the roofline, one table per input
    shape and dtype, the dtype ratios, and how the figures were taken."""
    mode = results[0]['mode']
    parts = [
        f'matmul roofline: {roofline.gflops:.1f} GFLOP/s fp32 '
        f'({roofline.n}^3); "% of matmul" = 2 x MACs / latency against it.'
    ]
    for res in results:
        size = 'x'.join(map(str, res['input']))
        for dtype in dtypes:
            rows = [r for r in res['rows'] if r['dtype'] == dtype]
            parts.append(
                f'## input 1x{size}, {mode}, {dtype}\n\n' +
                markdown_table(dict(res, rows=rows), preset, roofline))
        if len(dtypes) > 1:
            parts.append(f'## input 1x{size}, {mode}: dtypes against fp32'
                         '\n\n' + dtype_table(res, dtypes))
        if any(r.get('compiled') for r in res['rows']):
            parts.append(f'## input 1x{size}, {mode}: compiled (inductor) '
                         'against eager\n\n' + compile_table(res))
    source = 'CUDA allocator' if device_type == 'cuda' else \
        'CPU allocation trace'
    step = 'forward + backward' if mode == 'train' else 'forward'
    parts.append(f'GMAC: forward multiply-adds counted by mmengine (1 MAC = '
                 f'2 FLOPs); peak mem: {step} working memory ({source}); '
                 f'measured in {seconds:.0f} s.')
    return '\n\n'.join(parts)
