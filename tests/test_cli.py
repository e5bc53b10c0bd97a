"""The tools' argument types and config loading (mmctx/cli.py): a bad value
is refused while the arguments are parsed, naming what was written; each
tool that takes one is checked to use it."""
import argparse
import os.path as osp
import re

import pytest
import torch

from mmctx.cli import (folder_to_create, load_config, positive_float,
                       torch_device)


@pytest.mark.parametrize('value', ['nan', 'inf', '-1', '0', 'ten'])
def test_positive_float_refuses(value):
    with pytest.raises(argparse.ArgumentTypeError, match=value):
        positive_float(value)


def test_positive_float_reads():
    assert positive_float('2.5') == 2.5


def test_a_device_torch_lacks_is_refused():
    with pytest.raises(argparse.ArgumentTypeError, match="got 'foo'"):
        torch_device('foo')
    with pytest.raises(argparse.ArgumentTypeError, match="got 'meta'"):
        torch_device('meta')
    assert torch_device('cpu') == 'cpu'
    if not torch.cuda.is_available():
        with pytest.raises(
                argparse.ArgumentTypeError,
                match="'cuda:0': CUDA is not available in this torch"):
            torch_device('cuda:0')


def test_a_file_is_not_a_folder_to_create(tmp_path):
    (tmp_path / 'file').write_text('')
    with pytest.raises(argparse.ArgumentTypeError, match='is a file'):
        folder_to_create(str(tmp_path / 'file'))


def test_a_file_that_is_not_a_config_is_named(repo_root):
    with pytest.raises(ValueError, match=r"README.md' is not a config file"):
        load_config(osp.join(repo_root, 'README.md'))


# each tool's argument, the value, and what the error says
TOOL_ERRORS = [
    ('export_onnx', ['--tolerance', 'nan'], 'argument --tolerance'),
    ('export_onnx', ['--tolerance', '-1'], 'argument --tolerance'),
    ('export_onnx', ['--opset', '5'], 'argument --opset: must be at least'),
    ('benchmark', ['--device', 'foo'], "argument --device: .*got 'foo'"),
    ('visualize_context', ['--out', '{file}'], 'argument --out: .* is a file'),
]


@pytest.mark.parametrize(
    'tool, argv, message',
    TOOL_ERRORS,
    ids=[f'{t}{a[0]}{a[1]}' for t, a, _ in TOOL_ERRORS])
def test_tools_refuse_while_parsing(run_tool, capsys, tmp_path, repo_root,
                                    tool, argv, message):
    (tmp_path / 'file').write_text('')
    argv = [a.format(file=tmp_path / 'file') for a in argv]
    positional = {
        'export_onnx': [
            'configs/isa_r50_cityscapes.py', '--shape', '8', '8', '--out',
            tmp_path / 'x.onnx'
        ],
        'benchmark': ['isa-fig1'],
        'visualize_context': ['configs/isa_r50_cityscapes.py', 'image.png'],
    }[tool]
    assert run_tool(tool, *positional, *argv) == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize('tool', ['get_flops', 'export_onnx'])
def test_tools_name_a_file_that_is_not_a_config(run_tool, repo_root, tmp_path,
                                                tool):
    readme = osp.join(repo_root, 'README.md')
    argv = ['--shape', '8', '8', '--out', tmp_path / 'x.onnx'] \
        if tool == 'export_onnx' else []
    assert run_tool(tool, readme, *argv) == (
        f'error: config: {readme!r} is not a config file (one of .py, .json, '
        '.yaml, .yml)')
