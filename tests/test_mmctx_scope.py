"""``_base_ = 'mmctx::<path>'``: shipped configs inherited by name, before
mmctx is imported (``mmctx-scope.pth``), with no registry scope attached."""
import os.path as osp
import subprocess
import sys

import pytest
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmctx  # noqa: F401
from _mmctx_scope import shipped_config_path

pytestmark = pytest.mark.smoke


def scopes(value):
    if isinstance(value, dict):
        found = {value['_scope_']} if '_scope_' in value else set()
        return found.union(*(scopes(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(scopes(v) for v in value))
    return set()


def _scope_pth_installed():
    import site
    import sysconfig
    folders = [sysconfig.get_paths()['purelib'], *site.getsitepackages()]
    return any(osp.isfile(osp.join(f, 'mmctx-scope.pth')) for f in folders)


@pytest.mark.slow
@pytest.mark.skipif(
    not _scope_pth_installed(),
    reason='mmctx-scope.pth is not installed here (mmctx '
    'comes from PYTHONPATH, as on the other stacks)')
def test_resolved_at_startup_without_importing_mmctx():
    code = ('import sys; from mmengine.config import Config; '
            "assert 'mmctx' not in sys.modules; "
            'print(Config._get_cfg_path._mmctx_scope)')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         check=True).stdout
    assert out.strip() == 'True'


def test_detection_config_inherited_by_name_builds(tmp_path):
    user = tmp_path / 'my_mask_rcnn.py'
    user.write_text(
        "_base_ = 'mmctx::isanet/mask-rcnn_r50-isa-c5_fpn_1x_coco.py'\n"
        'model = dict(backbone=dict(init_cfg=None))\n')
    cfg = Config.fromfile(str(user))
    shipped = Config.fromfile(
        shipped_config_path('isanet/mask-rcnn_r50-isa-c5_fpn_1x_coco.py'))
    assert 'mmctx' not in scopes(cfg.to_dict())
    assert cfg.model.backbone.plugins == shipped.model.backbone.plugins
    init_default_scope(cfg.default_scope)
    model = MMDET_MODELS.build(cfg.model)
    assert type(model).__name__ == 'MaskRCNN'
    assert any(type(m).__name__ == 'ISABlock' for m in model.modules())


def test_unknown_config_is_named(tmp_path):
    user = tmp_path / 'bad.py'
    user.write_text("_base_ = 'mmctx::srnet/no_such_config.py'\n")
    with pytest.raises(FileNotFoundError, match='srnet/no_such_config.py'):
        Config.fromfile(str(user))
