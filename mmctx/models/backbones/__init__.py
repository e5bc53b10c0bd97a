"""Backbones registered in the ``mmctx`` scope.

``SRResNet`` and ``ContextResNet`` are MMPretrain backbones, registered when
MMPretrain imports (``pip install "mmctx[cls]"``; it needs torchvision);
otherwise their names stay registered and building one says why it cannot.
"""
from mmctx.registry import MODELS
from .dfnet import DFNet

__all__ = ['DFNet']

try:
    import mmpretrain.models  # noqa: F401
except ImportError as error:
    _missing = error

    def _needs_mmpretrain(name: str):

        def build(*args, **kwargs):
            raise ImportError(
                f'mmctx.{name} is an MMPretrain backbone, and MMPretrain '
                f'does not import here ({_missing}): pip install '
                '"mmpretrain==1.2.0" and a torchvision built for your torch '
                '(docs/en/user_guides/classification.md)')

        return build

    for _name in ('SRResNet', 'ContextResNet'):
        MODELS.register_module(name=_name, module=_needs_mmpretrain(_name))
else:
    from .context_resnet import ContextResNet
    from .sr_resnet import SRBottleneck, SRResNet
    __all__ += ['ContextResNet', 'SRBottleneck', 'SRResNet']
