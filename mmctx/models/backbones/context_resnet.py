"""MMPretrain's ResNet with context blocks between its bottlenecks, where the
non-local networks insert them: ISA paper Table 11 (ISA and CGNL blocks in a
ResNet-50 on CUB-200-2011)."""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import torch.nn as nn
from mmengine.model import Sequential
from mmpretrain.models.backbones.resnet import ResNet

from mmctx.models.layers._checks import is_int
from mmctx.registry import MODELS, PLUGIN_MODELS


@MODELS.register_module()
class ContextResNet(ResNet):
    """ResNet with a context block after chosen bottlenecks.

    ISA paper Table 11 follows CGNL and the non-local networks: "1x" is one
    block in res-4 right before its last bottleneck, "5x" two in res-3 and
    three in res-4, after every other bottleneck::

        # 1x (the default)             # 5x
        context_after=((), (), (4, ), ())
        context_after=((), (0, 2), (0, 2, 4), ())

    Each block is built from mmengine's root ``MODELS`` with
    ``in_channels`` set to its stage's width, so any residual plugin block
    works (``ISABlock``, ``CGNLBlock``, ``SRBlock``, mmcv's
    ``NonLocal2d``). The blocks are named ``context<i>`` inside the stage
    (``layer3.context4``) and the bottlenecks keep their names
    (``layer3.5``), so ResNet checkpoints load unchanged; the blocks are
    the identity at initialisation, so a pretrained ResNet keeps its
    function.

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

    def __init__(self,
                 depth: int,
                 context_cfg: Dict,
                 context_after: Optional[Sequence[Sequence[int]]] = None,
                 **kwargs):
        super().__init__(depth, **kwargs)
        if not isinstance(context_cfg, dict) or 'type' not in context_cfg:
            raise ValueError('context_cfg must be a block config with a '
                             f"'type', but got {context_cfg!r}")
        self.context_after = self._check_positions(context_after)
        for name, after in zip(self.res_layers, self.context_after):
            if after:
                stage = getattr(self, name)
                setattr(self, name, self._interlace(stage, after, context_cfg))

    def _check_positions(self, context_after) -> tuple:
        blocks = self.stage_blocks
        if context_after is None:
            return tuple(
                (n - 2, ) if i == 2 else () for i, n in enumerate(blocks))
        if (not isinstance(context_after, (tuple, list))
                or len(context_after) != len(blocks) or not all(
                    isinstance(a, (tuple, list)) and all(
                        is_int(i) and 0 <= i < n for i in a)
                    for a, n in zip(context_after, blocks))):
            raise ValueError(
                'context_after must give, for each of the '
                f'{len(blocks)} stages, indices of its bottlenecks '
                f'(stage blocks {tuple(blocks)}), but got {context_after!r}')
        return tuple(tuple(sorted(set(a))) for a in context_after)

    @staticmethod
    def _interlace(stage: nn.Sequential, after: Sequence[int],
                   context_cfg: Dict) -> nn.Sequential:
        modules = []
        for i, block in enumerate(stage):
            modules.append((str(i), block))
            if i in after:
                cfg = dict(context_cfg, in_channels=block.out_channels)
                modules.append((f'context{i}', PLUGIN_MODELS.build(cfg)))
        # mmengine's Sequential calls its blocks' init_weights after the
        # ResNet's init_cfg, which re-zeroes them (a torch one would not)
        return Sequential(OrderedDict(modules))
