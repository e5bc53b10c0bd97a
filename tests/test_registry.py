"""mmctx registries resolve from both host scopes; mmseg's names stay
mmseg's."""
import subprocess
import sys

import pytest
import torch
from mmcv.cnn import build_plugin_layer
from mmengine.registry import DefaultScope

import mmctx
from mmctx.registry import MODELS, PLUGIN_MODELS

HOST_SCOPES = ['mmseg', 'mmdet']


@pytest.fixture
def dummies():
    """A head-like class in the mmctx scope and a plugin in the root
    registry."""

    class MmctxDummyHead(torch.nn.Module):

        def __init__(self, channels=1):
            super().__init__()
            self.channels = channels

    class MmctxDummyPlugin(torch.nn.Module):
        _abbr_ = 'dummy_plugin'

        def __init__(self, in_channels):
            super().__init__()
            self.in_channels = in_channels

    MODELS.register_module(module=MmctxDummyHead)
    PLUGIN_MODELS.register_module(module=MmctxDummyPlugin)
    yield MmctxDummyHead, MmctxDummyPlugin
    MODELS._module_dict.pop('MmctxDummyHead')
    PLUGIN_MODELS._module_dict.pop('MmctxDummyPlugin')


def host_models(scope):
    if scope == 'mmseg':
        from mmseg.registry import MODELS as host
    else:
        from mmdet.registry import MODELS as host
    return host


@pytest.mark.smoke
def test_registry_tree():
    from mmseg.registry import DATASETS as MMSEG_DATASETS
    from mmseg.registry import MODELS as MMSEG_MODELS
    assert MODELS.scope == 'mmctx' and MODELS.parent is MMSEG_MODELS
    assert mmctx.DATASETS.scope == 'mmctx'
    assert mmctx.DATASETS.parent is MMSEG_DATASETS
    assert PLUGIN_MODELS.parent is None and PLUGIN_MODELS.scope == 'mmengine'


@pytest.mark.smoke
@pytest.mark.parametrize('scope', HOST_SCOPES)
def test_scoped_class_resolves_from_host_scope(dummies, scope):
    head_cls, _ = dummies
    with DefaultScope.overwrite_default_scope(scope):
        head = host_models(scope).build(
            dict(type='mmctx.MmctxDummyHead', channels=3))
    assert type(head) is head_cls and head.channels == 3


@pytest.mark.smoke
@pytest.mark.parametrize('scope', HOST_SCOPES)
def test_root_plugin_resolves_from_host_scope(dummies, scope):
    _, plugin_cls = dummies
    with DefaultScope.overwrite_default_scope(scope):
        name, plugin = build_plugin_layer(
            dict(type='MmctxDummyPlugin'), postfix='_1', in_channels=8)
        assert type(
            host_models(scope).build(
                dict(type='MmctxDummyPlugin', in_channels=4))) is plugin_cls
    assert name == 'dummy_plugin_1'
    assert type(plugin) is plugin_cls and plugin.in_channels == 8


@pytest.mark.smoke
def test_unscoped_name_is_not_visible_without_prefix(dummies):
    """A head registered in mmctx does not leak into mmseg's own names."""
    from mmseg.registry import MODELS as MMSEG_MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        assert MMSEG_MODELS.get('MmctxDummyHead') is None


@pytest.mark.smoke
def test_mmseg_isahead_untouched():
    from mmseg.models.decode_heads.isa_head import ISAHead as MmsegISAHead
    from mmseg.registry import MODELS as MMSEG_MODELS
    assert MMSEG_MODELS.get('ISAHead') is MmsegISAHead
    with DefaultScope.overwrite_default_scope('mmseg'):
        head = MMSEG_MODELS.build(
            dict(
                type='ISAHead',
                in_channels=8,
                channels=8,
                isa_channels=4,
                num_classes=3,
                norm_cfg=dict(type='BN')))
    assert type(head) is MmsegISAHead


@pytest.mark.smoke
def test_public_api_is_what_configs_build():
    """``mmctx.X`` in Python is the class ``type='X'`` / ``'mmctx.X'``
    builds."""
    assert PLUGIN_MODELS.get('SRBlock') is mmctx.SRBlock
    assert PLUGIN_MODELS.get('ISABlock') is mmctx.ISABlock
    assert MODELS.get('SRHead') is mmctx.SRHead
    assert MODELS.get('ISAHead') is mmctx.ISAHead
    assert mmctx.DATASETS.get('CamVidDataset') is mmctx.CamVidDataset
    for name in mmctx.__all__:
        assert hasattr(mmctx, name), name


@pytest.mark.slow
def test_without_the_host_building_says_what_to_install():
    """MMPretrain's and MMDetection's backbones stay registered where their
    host does not import, and building one names what to install."""
    hosts = {
        'SRResNet': 'is an MMPretrain backbone',
        'ContextResNet': 'is an MMPretrain backbone',
        'DetContextResNet': 'is an MMDetection backbone',
        'DetContextResNeXt': 'is an MMDetection backbone',
    }
    code = ('import sys\n'
            'sys.modules["mmpretrain"] = sys.modules["mmdet"] = None\n'
            'import mmctx\n'
            'from mmctx.registry import MODELS\n'
            f'for name in {list(hosts)!r}:\n'
            '    try:\n'
            '        MODELS.build(dict(type=name, depth=50))\n'
            '    except ImportError as e:\n'
            '        print(e)\n')
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == len(hosts)
    for line, (name, host) in zip(lines, hosts.items()):
        assert line.startswith(f'mmctx.{name} {host}')
        assert ('pip install "mmpretrain==1.2.0"' in line if 'MMPretrain'
                in host else 'pip install "mmdet>=3.0.0,<4.0.0"' in line)
