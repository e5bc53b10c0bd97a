"""The benchmark (mmctx.analysis, tools/benchmark.py): one preset end to end
on a tiny input, the JSON schema, ratios taken from the same run, and the
measurements by value."""
import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmctx.analysis import (PRESETS, count_flops, format_report, make_step,
                            report_dict, run, select_rows)
from mmctx.analysis.measure import _cpu_peak_bytes

REQUIRED_ROWS = ('NL', 'ISA', 'ISA-fused', 'SR-GAP', 'SR-GHP')
ROW_TYPES = dict(
    method=str,
    mode=str,
    dtype=str,
    with_cp=bool,
    compiled=bool,
    params=int,
    flops=int,
    peak_mem_mb=float,
    latency_ms=float)
C, H, W = 32, 16, 16


def benchmark_json(run_tool, capsys, path, *argv):
    """``tools/benchmark.py argv --json path``: the document and stdout."""
    assert run_tool('benchmark', *argv, '--threads', '1', '--json', path,
                    '--no-progress') == 0
    with open(path) as f:
        return json.load(f), capsys.readouterr().out


@pytest.fixture(scope='module')
def quick_run():
    """``isa-fig1 --quick`` at 32x16x16 with every row of the preset (the
    peers' rows too: each mmcv/mmseg module builds and runs), through the
    package: the ``--json`` document and the printed report."""
    preset = PRESETS['isa-fig1']
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results, roofline = run(
            preset,
            list(preset.methods), [(C, H, W)],
            torch.device('cpu'),
            warmup=0,
            repeats=1,
            quick_roofline=True,
            progress=False)
    finally:
        torch.set_num_threads(threads)
    doc = json.loads(json.dumps(report_dict('isa-fig1', results, 'cpu')))
    return doc, format_report(results, preset, roofline, ['fp32'], 'cpu', 1)


def _table_rows(stdout):
    """{method: {column: cell}} of the markdown table on stdout."""
    lines = [line for line in stdout.splitlines() if line.startswith('| ')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    rows = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) == len(header) and 'roofline' not in cells[0]:
            rows[cells[0]] = dict(zip(header, cells))
    return rows


def test_json_schema(quick_run):
    doc, _ = quick_run
    assert set(doc) == {'preset', 'input', 'device', 'rows'}
    assert doc['preset'] == 'isa-fig1'
    assert doc['input'] == [C, H, W]
    assert isinstance(doc['device'], str) and doc['device']
    for row in doc['rows']:
        assert set(row) == set(ROW_TYPES), row
        for key, kind in ROW_TYPES.items():
            assert type(row[key]) is kind, (key, row)
        assert row['params'] > 0 and row['flops'] > 0
        assert row['peak_mem_mb'] > 0 and row['latency_ms'] > 0
    methods = [row['method'] for row in doc['rows']]
    assert set(REQUIRED_ROWS) <= set(methods)
    # every row of the preset ran: nothing skipped at this size
    assert methods == list(PRESETS['isa-fig1'].methods)


def test_ratios_come_from_the_same_run(quick_run):
    doc, stdout = quick_run
    table = _table_rows(stdout)
    nl = next(row for row in doc['rows'] if row['method'] == 'NL')
    assert set(table) == {row['method'] for row in doc['rows']}
    for row in doc['rows']:
        cells = table[row['method']]
        for column, key in (('MAC / NL', 'flops'), ('mem / NL', 'peak_mem_mb'),
                            ('latency / NL', 'latency_ms')):
            assert float(cells[column]) == pytest.approx(
                row[key] / nl[key], abs=6e-4), (row['method'], column)
        assert float(cells['GMAC']) == pytest.approx(
            row['flops'] / 1e9, abs=6e-3)


def test_nonlocal_flops_match_the_formula(quick_run):
    """NonLocal2d (reduction 2, C' = C/2, N = HW): g, theta, phi and the
    output conv, then N x N x C' twice (Q K^T and A V), in MACs."""
    doc, _ = quick_run
    rows = {row['method']: row for row in doc['rows']}
    n, inter = H * W, C // 2
    assert rows['NL']['flops'] == 4 * C * inter * n + 2 * n * n * inter
    nl_params = 3 * (C * inter + inter) + inter * C + C
    assert rows['NL']['params'] == nl_params


def test_fused_isa_counts_like_explicit(quick_run):
    doc, _ = quick_run
    rows = {row['method']: row for row in doc['rows']}
    assert rows['ISA-fused']['flops'] == rows['ISA']['flops']
    assert rows['ISA-fused']['params'] == rows['ISA']['params']
    assert rows['ISA-attn-fused']['flops'] == rows['ISA-attn']['flops']
    # at mmseg's settings our attention has mmseg's parameters and MACs
    assert rows['ISA-attn']['params'] == rows['mmseg-ISA-attn']['params']
    assert rows['ISA-attn']['flops'] == rows['mmseg-ISA-attn']['flops']


def test_sdpa_counted_as_two_matmuls():

    class Explicit(nn.Module):

        def forward(self, x):
            attn = torch.matmul(x, x.transpose(-2, -1)).softmax(-1)
            return torch.matmul(attn, x)

    class Fused(nn.Module):

        def forward(self, x):
            return F.scaled_dot_product_attention(x, x, x)

    x = torch.randn(2, 4, 10, 6)
    expected = 2 * 4 * 10 * 10 * (6 + 6)
    assert count_flops(Fused(), x) == expected
    explicit = count_flops(Explicit(), torch.randn(2, 4, 10, 3))
    assert explicit == 2 * 4 * 10 * 10 * (3 + 3)


def test_cpu_peak_memory_follows_the_allocation_trace():
    mib = 1 << 18  # float32 elements in 1 MiB

    def two_then_one():
        a = torch.ones(4 * mib)
        b = torch.ones(4 * mib)  # 8 MiB live here
        del a
        return b + 1  # 8 MiB again: b and the result

    peak = _cpu_peak_bytes(two_then_one)
    # plus at most a few bytes for the wrapped scalar 1
    assert peak == pytest.approx(8 * 2**20, abs=1024)


def test_bad_arguments_are_named(run_tool, capsys):
    assert run_tool('benchmark', 'isa-fig1', '--methods', 'NotAModule') == 2
    assert 'NotAModule' in capsys.readouterr().err
    assert run_tool('benchmark', 'isa-fig1', '--plot', 'x.png') == 2
    assert '--plot' in capsys.readouterr().err
    assert run_tool('benchmark', 'isa-fig1', '--freezing') == 2
    assert '--freezing is for --compile in inference' in \
        capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown \\['NotAModule'\\]"):
        select_rows(PRESETS['isa-fig1'], methods=['NotAModule'])


@pytest.mark.parametrize('argv, message', [
    (['--threads', '0'], '--threads: must be a positive int, got 0'),
    (['--threads', '-1'], '--threads: must be a positive int, got -1'),
    (['--repeats', '-2'], '--repeats: must be a positive int, got -2'),
    (['--warmup', '-1'], '--warmup: must be >= 0, got -1'),
    (['--input', '0', '16', '16'], '--input: must be a positive int, got 0'),
    (['--json', '/nonexistent/r.json'], '--json: cannot write '
     "'/nonexistent/r.json': no folder '/nonexistent'"),
])
def test_bad_numbers_and_paths_are_refused_before_the_run(
        run_tool, capsys, argv, message):
    """--threads 0 used to be ignored; the others gave tracebacks, the
    unwritable --json one after the whole run."""
    assert run_tool('benchmark', 'isa-fig1', *argv) == 2
    assert message in capsys.readouterr().err


def test_cpu_model_reads_lscpu_and_falls_back(monkeypatch):
    import subprocess

    import mmctx.analysis.measure as analysis

    def lscpu(*args, **kwargs):
        return subprocess.CompletedProcess(
            args, 0, stdout='Architecture: x86_64\nModel name:  Test CPU 9\n')

    monkeypatch.setattr(analysis.subprocess, 'run', lscpu)
    assert analysis.cpu_model() == 'Test CPU 9'

    def missing(*args, **kwargs):
        raise FileNotFoundError('lscpu')

    monkeypatch.setattr(analysis.subprocess, 'run', missing)
    monkeypatch.setattr(analysis.platform, 'processor', lambda: '')
    monkeypatch.setattr(analysis.platform, 'machine', lambda: 'riscv64')
    assert analysis.cpu_model() == 'riscv64'


def test_sr_table5_whole_models(run_tool, capsys, tmp_path):
    """The Table V preset builds the three models from their configs and
    takes the FPS ratios against DF-Seg-v2 from the same run."""
    doc, out = benchmark_json(run_tool, capsys, tmp_path / 'table5.json',
                              'sr-table5', '--quick', '--input', 3, 64, 128)
    rows = {r['method']: r for r in doc['rows']}
    assert list(rows) == ['DF-Seg-v1', 'DF-Seg-v2', 'SRNet-DFv2']
    assert [round(rows[n]['params'] / 1e6, 2) for n in rows] == \
        [9.37, 18.83, 18.87]
    table = _table_rows(out)
    ref = rows['DF-Seg-v2']['latency_ms']
    for name, row in rows.items():
        assert float(table[name]['FPS / DF-Seg-v2']) == pytest.approx(
            ref / row['latency_ms'], abs=0.006)
        assert float(table[name]['FPS']) == pytest.approx(
            1e3 / row['latency_ms'], abs=0.006)
    assert table['SRNet-DFv2']['paper FPS / DF-Seg-v2'] == '1.18'
    assert table['DF-Seg-v1']['paper FPS'] == '80'


def test_train_mode_in_two_dtypes(run_tool, capsys, tmp_path):
    """``--mode train --dtype fp32 bf16``: every row in both dtypes, ratios
    against NL of the same dtype, and a training step costs more memory
    than an inference forward (autograd keeps the activations)."""
    rows = {}
    for mode in ('inference', 'train'):
        doc, printed = benchmark_json(run_tool, capsys,
                                      tmp_path / f'{mode}.json', 'isa-fig1',
                                      '--quick', '--input', C, H, W, '--mode',
                                      mode, '--dtype', 'fp32', 'bf16',
                                      '--methods', 'ISA')
        for row in doc['rows']:
            rows[row['method'], mode, row['dtype']] = row
    assert set(rows) == {(m, mode, d)
                         for m in ('NL', 'ISA')
                         for mode in ('inference', 'train')
                         for d in ('fp32', 'bf16')}
    for method in ('NL', 'ISA'):
        for dtype in ('fp32', 'bf16'):
            assert rows[method, 'train', dtype]['peak_mem_mb'] > \
                rows[method, 'inference', dtype]['peak_mem_mb']
    assert 'train, bf16' in printed and 'dtypes against fp32' in printed
    train = {(m, d): rows[m, 'train', d]
             for m in ('NL', 'ISA') for d in ('fp32', 'bf16')}
    tables = printed.split('## ')
    bf16_table = _table_rows(
        next(
            t for t in tables if t.startswith(f'input 1x{C}x{H}x{W}, '
                                              'train, bf16')))
    assert float(bf16_table['ISA']['mem / NL']) == pytest.approx(
        train['ISA', 'bf16']['peak_mem_mb'] /
        train['NL', 'bf16']['peak_mem_mb'],
        abs=0.001)
    ratios = _table_rows(next(t for t in tables if 'dtypes against' in t))
    assert float(ratios['ISA']['latency bf16 / fp32']) == pytest.approx(
        train['ISA', 'bf16']['latency_ms'] /
        train['ISA', 'fp32']['latency_ms'],
        abs=0.006)


def test_with_cp_rows(run_tool, capsys, tmp_path):
    """``--with-cp``: each row with the option once more with it, marked in
    the table and the JSON, its ratio against NL without it; refused
    outside training."""
    doc, printed = benchmark_json(run_tool, capsys, tmp_path / 'cp.json',
                                  'isa-fig1', '--quick', '--input', C, H, W,
                                  '--mode', 'train', '--with-cp', '--methods',
                                  'ISA', 'SR-GAP')
    rows = {(r['method'], r['with_cp']): r for r in doc['rows']}
    assert set(rows) == {('NL', False), ('ISA', False), ('ISA', True),
                         ('SR-GAP', False), ('SR-GAP', True)}
    table = _table_rows(printed)
    assert float(table['ISA (with_cp)']['mem / NL']) == pytest.approx(
        rows['ISA', True]['peak_mem_mb'] / rows['NL', False]['peak_mem_mb'],
        abs=0.001)
    # one step's attention at a time: less memory, a second forward
    assert rows['ISA', True]['peak_mem_mb'] < rows['ISA', False]['peak_mem_mb']
    assert run_tool('benchmark', 'isa-fig1', '--with-cp') == 2
    assert '--with-cp is for --mode train' in capsys.readouterr().err


def test_compile_rows(run_tool, capsys, tmp_path):
    """``--compile``: each row once more compiled (inductor), marked in the
    tables and the JSON with its latency and memory over the same row
    eager, from the same run."""
    doc, printed = benchmark_json(run_tool, capsys, tmp_path / 'c.json',
                                  'isa-fig1', '--quick', '--input', C, H, W,
                                  '--compile', '--methods', 'SR-GAP')
    rows = {(r['method'], r['compiled']): r for r in doc['rows']}
    assert set(rows) == {('NL', False), ('NL', True), ('SR-GAP', False),
                         ('SR-GAP', True)}
    compile_section = printed.split('compiled (inductor) against eager')[1]
    table = _table_rows(compile_section)
    for method in ('NL', 'SR-GAP'):
        eager, compiled = rows[method, False], rows[method, True]
        assert compiled['flops'] == eager['flops']
        assert compiled['latency_vs_eager'] == pytest.approx(
            compiled['latency_ms'] / eager['latency_ms'], rel=1e-3)
        assert compiled['mem_vs_eager'] == pytest.approx(
            compiled['peak_mem_mb'] / eager['peak_mem_mb'], rel=1e-3)
        assert float(table[f'{method} (compiled)']
                     ['latency compiled / eager']) == pytest.approx(
                         compiled['latency_vs_eager'], abs=0.006)


def test_train_step_reaches_parameters_and_input():
    block = nn.Conv2d(4, 4, 3, padding=1)
    x = torch.randn(1, 4, 6, 6)
    step = make_step(block, x, 'train', 'bf16')
    step()
    assert block.training and block.weight.grad is not None
    assert torch.isfinite(block.weight.grad).all()
    first = block.weight.grad.clone()
    step()  # gradients are reset, not accumulated
    torch.testing.assert_close(block.weight.grad, first)


def test_scaling_sizes_and_their_json():
    """``scaling`` measures each size up to --input's, and its JSON keeps
    every size with the largest one on top."""
    from mmctx.analysis import input_shapes
    preset = PRESETS['scaling']
    assert input_shapes(
        preset, quick=True) == [(512, 32, 32), (512, 64, 64), (512, 128, 128)]
    assert input_shapes(
        preset, shape=(64, 100, 100)) == [(64, 32, 32), (64, 64, 64),
                                          (64, 96, 96)]
    assert input_shapes(preset, shape=(8, 16, 16)) == [(8, 16, 16)]
    assert input_shapes(PRESETS['isa-fig1'], shape=(8, 9, 10)) == [(8, 9, 10)]
    results = [
        dict(input=[8, s, s], rows=[dict(method='NL', size=s)], skipped=[])
        for s in (16, 32)
    ]
    doc = report_dict('scaling', results, 'cpu')
    assert doc['input'] == [8, 32, 32] and doc['rows'] == results[1]['rows']
    assert [d['input'] for d in doc['sizes']] == [[8, 16, 16], [8, 32, 32]]
    assert 'sizes' not in report_dict('isa-fig1', results[:1], 'cpu')
