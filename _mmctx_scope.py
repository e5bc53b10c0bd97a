"""Lets any config inherit a shipped mmctx config as ``mmctx::<path>``.

``mmctx-scope.pth`` (installed beside the package) imports this module when
the interpreter starts, because mmengine resolves ``_base_`` before
``custom_imports`` load anything: ``mim train mmseg my_config.py`` parses
``_base_ = 'mmctx::srnet/...'`` before mmctx could be imported. Importing
this module is cheap: it imports neither mmengine nor torch, and only adds a
finder that waits for ``mmengine.config.config``.

Once mmengine's config module is loaded, ``Config._get_cfg_path`` resolves
``mmctx::<path>`` to the shipped file, ``mmctx/.mim/configs/<path>`` in an
installed wheel or ``configs/<path>`` of the clone behind an editable
install. mmengine's own ``package::`` route would put every object of the
base config in an ``mmctx`` registry scope, where the MMDetection models of
the detection configs cannot be found; shipped configs name their scopes
themselves (``default_scope``, ``type='mmctx.X'``), so none is added.

``mmseg::<path>`` is resolved here too where mmseg comes from another
distribution than ``mmsegmentation`` (the OneDL fork), which mmengine
0.10.12 cannot find.
"""
import importlib.abc
import importlib.util
import os.path as osp
import sys
from types import ModuleType
from typing import Callable

PREFIX = 'mmctx::'
_CONFIG_MODULE = 'mmengine.config.config'


def shipped_config_path(name: str) -> str:
    """The file of the shipped config ``name`` (e.g. ``srnet/x.py``).

    Raises:
        FileNotFoundError: no such config, or mmctx is not installed.
    """
    spec = importlib.util.find_spec('mmctx')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f'{PREFIX}{name}: mmctx is not installed')
    package = list(spec.submodule_search_locations)[0]
    for configs in (osp.join(package, '.mim', 'configs'),
                    osp.join(osp.dirname(package), 'configs')):
        if osp.isdir(configs):
            path = osp.join(configs, name)
            if osp.isfile(path):
                return path
            raise FileNotFoundError(
                f'{PREFIX}{name}: no such config in {configs}')
    raise FileNotFoundError(
        f'{PREFIX}{name}: mmctx at {package} ships no configs')


def _forked_package_config(cfg_path: str):
    """``mmseg::<path>`` where mmseg is installed under another
    distribution name (the OneDL fork's onedl-mmsegmentation): mmengine
    looks the prefix up as the distribution ``mmsegmentation``, finds none
    and raises ``mmsegmentation is not installed``. Resolved from the
    package's ``.mim/configs`` with the ``mmseg`` scope, as mmengine would;
    None where mmengine's own route works."""
    package, sep, name = cfg_path.partition('::')
    if not sep or package != 'mmseg':
        return None
    from importlib import metadata
    try:
        metadata.distribution('mmsegmentation')
        return None
    except metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    from mmengine.config.utils import (_get_external_cfg_base_path,
                                       _get_external_cfg_path)
    package_path = list(spec.submodule_search_locations)[0]
    try:  # mmengine's own two lookups, from the package's path
        return _get_external_cfg_path(package_path, name), package
    except ValueError:
        return _get_external_cfg_base_path(package_path, name), package


def resolve_mmctx_bases(config_module) -> None:
    """Make ``Config._get_cfg_path`` resolve ``mmctx::`` (idempotent)."""
    config = config_module.Config
    original = config._get_cfg_path
    if getattr(original, '_mmctx_scope', False):
        return

    def _get_cfg_path(cfg_path, filename):
        if cfg_path.startswith(PREFIX):
            return shipped_config_path(cfg_path[len(PREFIX):]), None
        forked = _forked_package_config(cfg_path)
        if forked is not None:
            return forked
        return original(cfg_path, filename)

    _get_cfg_path._mmctx_scope = True
    config._get_cfg_path = staticmethod(_get_cfg_path)


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback(module)`` once, right after module ``name`` is
    executed (a mere ``find_spec`` probe of the name does not count)."""

    def __init__(self, name: str, callback: Callable[[ModuleType], None]):
        self.name, self.callback = name, callback
        self._finding = False

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name or self._finding:
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding = False
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_call(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
                self.callback(module)

        spec.loader.exec_module = exec_then_call
        return spec


def install() -> None:
    """Patch mmengine now if its config module is loaded, else on import."""
    if _CONFIG_MODULE in sys.modules:
        resolve_mmctx_bases(sys.modules[_CONFIG_MODULE])
    elif not any(
            isinstance(f, AfterImport) and f.name == _CONFIG_MODULE
            for f in sys.meta_path):
        sys.meta_path.insert(0, AfterImport(_CONFIG_MODULE,
                                            resolve_mmctx_bases))
