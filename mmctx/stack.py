"""The OpenMMLab stack mmctx runs on, checked when :mod:`mmctx` is imported.

``setup.py`` requires none of these packages: pip would replace a user's
torch or mmcv build (a CUDA torch, mmcv compiled against it, or the OneDL
fork, whose distributions have other names). They are listed for ``mim
install`` in ``requirements/mminstall.txt`` and checked here instead, by
import name, as mmseg and mmdet check mmcv.
"""
import importlib
import importlib.util
from typing import Dict, Optional, Tuple

from packaging.version import Version

#: import name -> (lowest supported, first unsupported or None).
SUPPORTED: Dict[str, Tuple[str, Optional[str]]] = {
    'torch': ('2.1.0', None),
    'mmengine': ('0.10.0', '0.11.0'),
    'mmcv': ('2.0.0', '2.4.0'),
    'mmseg': ('1.0.0', '2.0.0'),
    'mmdet': ('3.0.0', '4.0.0'),
}
#: Only detection needs mmdet; a segmentation-only stack may lack it.
OPTIONAL = ('mmdet', )
#: The distributions that provide each import name: OpenMMLab's, the fork's.
DISTRIBUTIONS = {
    'torch': ('torch', ),
    'mmengine': ('mmengine', 'onedl-mmengine'),
    'mmcv': ('mmcv', 'onedl-mmcv'),
    'mmseg': ('mmsegmentation', 'onedl-mmsegmentation'),
    'mmdet': ('mmdet', 'onedl-mmdetection'),
}


class UnsupportedStackError(ImportError):
    """An installed package of the stack is outside :data:`SUPPORTED`."""


def supported_range(name: str) -> str:
    """``SUPPORTED[name]`` as a requirement, e.g. ``'>=2.0.0, <2.4.0'``."""
    low, high = SUPPORTED[name]
    return f'>={low}' + (f', <{high}' if high else '')


def _base_version(version: str) -> Version:
    # '2.1.2+cu121' and '2.0.0rc4' compare by their release numbers
    return Version(Version(version).base_version)


def check_version(name: str, version: str) -> None:
    """Raise :class:`UnsupportedStackError` naming ``name``, the installed
    ``version`` and the supported range if ``version`` is outside it."""
    low, high = SUPPORTED[name]
    installed = _base_version(version)
    if installed >= Version(low) and (high is None
                                      or installed < Version(high)):
        return
    raise UnsupportedStackError(
        f'mmctx supports {name}{supported_range(name)}, but {name}=={version} '
        f'is installed (distribution {" or ".join(DISTRIBUTIONS[name])}). '
        'Install a supported version: '
        'docs/en/advanced_guides/compatibility.md lists the tested stacks.')


def check_stack() -> Dict[str, str]:
    """Check every installed package of the stack against
    :data:`SUPPORTED`; return ``{import name: version}``.

    A missing required package raises :class:`ImportError` naming it; a
    missing optional one (mmdet) is left out.
    """
    versions = {}
    for name in SUPPORTED:
        if name in OPTIONAL and importlib.util.find_spec(name) is None:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            raise ImportError(
                f'mmctx needs {name}{supported_range(name)} (distribution '
                f'{" or ".join(DISTRIBUTIONS[name])}), which is not '
                'installed: see docs/en/get_started.md') from error
        check_version(name, module.__version__)
        versions[name] = module.__version__
    return versions


check_stack()
