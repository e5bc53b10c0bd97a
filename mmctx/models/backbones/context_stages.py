"""Context blocks between the bottlenecks of a ResNet, where the non-local
networks insert them: the one mechanism behind ``ContextResNet``
(MMPretrain) and ``DetContextResNet`` / ``DetContextResNeXt``
(MMDetection)."""
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import Sequential
from torch import Tensor

from mmctx.models.layers._checkpoint import checkpointed
from mmctx.models.layers._checks import is_int
from mmctx.registry import PLUGIN_MODELS

CONTEXT_PREFIX = 'context'


def stage_width(block: nn.Module) -> int:
    """Output channels of a residual block: MMPretrain's blocks say
    ``out_channels``; mmdet's and mmseg's end in ``conv3`` (bottleneck) or
    ``conv2`` (basic block)."""
    width = getattr(block, 'out_channels', None)
    if width is None:
        last = block.conv3 if hasattr(block, 'conv3') else block.conv2
        width = last.out_channels
    return width


def last_but_one_of_res4(stage_blocks: Sequence[int]) -> Tuple[tuple, ...]:
    """One block before the last bottleneck of res-4 (the third stage):
    the non-local networks' and the ISA paper's placement."""
    return tuple(
        (n - 2, ) if i == 2 else () for i, n in enumerate(stage_blocks))


def check_context_after(context_after, stage_blocks: Sequence[int]) -> tuple:
    """``context_after`` as sorted tuples of bottleneck indices, one per
    stage; None gives :func:`last_but_one_of_res4`."""
    if context_after is None:
        return last_but_one_of_res4(stage_blocks)
    if (not isinstance(context_after, (tuple, list))
            or len(context_after) != len(stage_blocks) or not all(
                isinstance(a, (tuple, list)) and all(
                    is_int(i) and 0 <= i < n for i in a)
                for a, n in zip(context_after, stage_blocks))):
        raise ValueError(
            'context_after must give, for each of the '
            f'{len(stage_blocks)} stages, indices of its bottlenecks '
            f'(stage blocks {tuple(stage_blocks)}), but got {context_after!r}')
    return tuple(tuple(sorted(set(a))) for a in context_after)


class ContextStage(Sequential):
    """A ResNet stage with a context block after chosen bottlenecks.

    The bottlenecks keep their names (``'0'``, ``'1'``, ...), so the stage
    loads the stock state dict; the block after bottleneck ``i`` is
    ``context<i>``. mmengine's ``Sequential`` calls the blocks'
    ``init_weights`` after the backbone's ``init_cfg``, which would
    otherwise re-initialise a zeroed last layer (a torch one would not).

    Args:
        stage (nn.Sequential): The stock stage.
        context_after (Sequence[int]): Bottlenecks a block follows.
        context_cfg (dict): Config of each block, built from mmengine's root
            ``MODELS`` with ``in_channels`` set to the stage's width.
        with_cp (bool): Checkpoint each block in training, as the
            bottlenecks of a ``with_cp`` backbone are. Default: False.
    """

    def __init__(self,
                 stage: nn.Sequential,
                 context_after: Sequence[int],
                 context_cfg: Dict,
                 with_cp: bool = False):
        modules = []
        for i, block in enumerate(stage):
            modules.append((str(i), block))
            if i in context_after:
                cfg = dict(context_cfg, in_channels=stage_width(block))
                modules.append(
                    (f'{CONTEXT_PREFIX}{i}', PLUGIN_MODELS.build(cfg)))
        super().__init__(OrderedDict(modules))
        self.with_cp = with_cp

    def forward(self, x: Tensor) -> Tensor:
        for name, module in self._modules.items():
            if (self.with_cp and self.training
                    and name.startswith(CONTEXT_PREFIX)):
                x = checkpointed(module, module, x)
            else:
                x = module(x)
        return x


class ContextBlocksMixin:
    """Context blocks after chosen bottlenecks of a host ResNet class, mixed
    in first: ``class DetContextResNet(ContextBlocksMixin, ResNet)``.

    The host (MMDetection's or MMPretrain's ResNet and their subclasses)
    builds its stages as usual; each stage with blocks is then replaced by
    a :class:`ContextStage` holding the same bottlenecks. So the host's
    checkpoints load with only the blocks' keys missing, ``frozen_stages``
    freezes the blocks of a frozen stage, ``norm_eval`` reaches their
    BatchNorms, ``with_cp`` checkpoints them, and mmdet ``plugins`` still
    go inside the bottlenecks. A residual block (``ISABlock``, ``SRBlock``,
    ``CGNLBlock``, mmcv's ``NonLocal2d``) starts as the identity, so a
    pretrained backbone keeps its function.

    Args:
        context_cfg (dict): Config of each block, e.g.
            ``dict(type='NonLocal2d')``; ``in_channels`` is set to its
            stage's width.
        context_after (Sequence[Sequence[int]], optional): For each stage,
            the (0-based) indices of the bottlenecks a block follows; empty
            everywhere gives the host backbone. Default: None, one block
            before the last bottleneck of res-4 (the third stage).
        *args, **kwargs: The host backbone's arguments.
    """

    def __init__(self,
                 *args,
                 context_cfg: Dict,
                 context_after: Optional[Sequence[Sequence[int]]] = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(context_cfg, dict) or 'type' not in context_cfg:
            raise ValueError('context_cfg must be a block config with a '
                             f"'type', but got {context_cfg!r}")
        self.context_after = check_context_after(context_after,
                                                 self.stage_blocks)
        for name, after in zip(self.res_layers, self.context_after):
            if after:
                stage = ContextStage(
                    getattr(self, name), after, context_cfg, self.with_cp)
                setattr(self, name, stage)
        self._freeze_stages()
