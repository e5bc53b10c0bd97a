"""MMPretrain's ResNet with context blocks between its bottlenecks, where the
non-local networks insert them: ISA paper Table 11 (ISA and CGNL blocks in a
ResNet-50 on CUB-200-2011)."""
from mmpretrain.models.backbones.resnet import ResNet

from mmctx.registry import MODELS
from .context_stages import ContextBlocksMixin


@MODELS.register_module()
class ContextResNet(ContextBlocksMixin, ResNet):
    """MMPretrain's ResNet with a context block after chosen bottlenecks.

    ISA paper Table 11 follows CGNL and the non-local networks: "1x" is one
    block in res-4 right before its last bottleneck, "5x" two in res-3 and
    three in res-4, after every other bottleneck::

        # 1x (the default)             # 5x
        context_after=((), (), (4, ), ())
        context_after=((), (0, 2), (0, 2, 4), ())

    The blocks are named ``context<i>`` inside the stage
    (``layer3.context4``) and the bottlenecks keep their names
    (``layer3.5``), so ResNet checkpoints load unchanged
    (:class:`~mmctx.models.backbones.context_stages.ContextBlocksMixin`).

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        context_cfg (dict): Config of each block, e.g.
            ``dict(type='ISABlock', norm_cfg=dict(type='BN'))``.
        context_after (Sequence[Sequence[int]], optional): For each stage,
            the (0-based) indices of the bottlenecks a block follows.
            Default: None, one block before the last bottleneck of res-4
            (the third stage).
        **kwargs: MMPretrain's ``ResNet`` arguments.
    """
