"""Backbones registered in the ``mmctx`` scope.

``SRResNet`` and ``ContextResNet`` are MMPretrain backbones, registered when
MMPretrain imports (``pip install "mmctx[cls]"``; it needs torchvision);
``DetContextResNet`` and ``DetContextResNeXt`` are MMDetection backbones,
registered when MMDetection imports. Where the host does not import, their
names stay registered and building one says why it cannot.
"""
from mmctx.registry import MODELS
from .dfnet import DFNet

__all__ = ['DFNet']


def _register_missing(names, host: str, install: str, error: Exception):

    def needs_host(name: str):

        def build(*args, **kwargs):
            raise ImportError(
                f'mmctx.{name} is an {host} backbone, and {host} does not '
                f'import here ({error}): {install}')

        return build

    for name in names:
        MODELS.register_module(name=name, module=needs_host(name))


try:
    import mmpretrain.models  # noqa: F401
except ImportError as error:
    _register_missing(('SRResNet', 'ContextResNet'), 'MMPretrain',
                      'pip install "mmpretrain==1.2.0" and a torchvision '
                      'built for your torch '
                      '(docs/en/user_guides/classification.md)', error)
else:
    from .context_resnet import ContextResNet
    from .sr_resnet import SRBottleneck, SRResNet
    __all__ += ['ContextResNet', 'SRBottleneck', 'SRResNet']

try:
    import mmdet.models  # noqa: F401
except ImportError as error:
    _register_missing(('DetContextResNet', 'DetContextResNeXt'), 'MMDetection',
                      'pip install "mmdet>=3.0.0,<4.0.0"', error)
else:
    from .det_context_resnet import DetContextResNet, DetContextResNeXt
    __all__ += ['DetContextResNet', 'DetContextResNeXt']
