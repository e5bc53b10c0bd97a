"""MMDetection's ResNet and ResNeXt with context blocks between their
bottlenecks: ISA paper Sec. 4.2 (Table 7) and SR paper Table IX put one
block in a Mask R-CNN or Panoptic FPN backbone, where the non-local networks
do, which ResNet ``plugins`` (one per bottleneck of a stage) cannot
express."""
from mmdet.models.backbones import ResNet, ResNeXt

from mmctx.registry import MODELS
from .context_stages import ContextBlocksMixin


@MODELS.register_module()
class DetContextResNet(ContextBlocksMixin, ResNet):
    """MMDetection's ResNet with a context block after chosen bottlenecks.

    In a config that inherits a stock detector, only the type and the
    block change::

        model = dict(
            backbone=dict(
                type='mmctx.DetContextResNet',
                context_cfg=dict(type='NonLocal2d'),
                context_after=((), (), (4, ), ())))  # before res-4's last

    The bottlenecks keep their names (``layer3.5``), the block after
    bottleneck ``i`` is ``layer3.context<i>``: torchvision and mmdet
    checkpoints load with only the blocks' keys missing, and a residual
    block starts as the identity. ``frozen_stages``, ``norm_eval``,
    ``with_cp``, ``plugins`` and ``init_cfg`` work as in ``ResNet``
    (:class:`~mmctx.models.backbones.context_stages.ContextBlocksMixin`).

    Args:
        context_cfg (dict): Config of each block (``in_channels`` is set).
        context_after (Sequence[Sequence[int]], optional): For each stage,
            the (0-based) indices of the bottlenecks a block follows.
            Default: None, one block before the last bottleneck of res-4
            (the third stage).
        **kwargs: MMDetection's ``ResNet`` arguments.
    """


@MODELS.register_module()
class DetContextResNeXt(ContextBlocksMixin, ResNeXt):
    """MMDetection's ResNeXt with a context block after chosen bottlenecks,
    as :class:`DetContextResNet`.

    Args:
        context_cfg (dict): Config of each block (``in_channels`` is set).
        context_after (Sequence[Sequence[int]], optional): See
            :class:`DetContextResNet`. Default: None.
        **kwargs: MMDetection's ``ResNeXt`` arguments (``groups``,
            ``base_width``, ``depth``, ...).
    """
