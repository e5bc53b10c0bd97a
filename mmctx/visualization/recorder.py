"""Forward hooks that keep what the SR and ISA layers of a whole model see,
so that the maps come from a segmentor or detector without a change to its
code."""
from typing import Dict, Optional, Sequence

import torch.nn as nn
from torch import Tensor

from ..models.layers import InterlacedSparseAttention, SRBlock
from .maps import ISAAttentionMaps, PCAProjection, isa_attention, sr_node_maps

CONTEXT_LAYERS = (InterlacedSparseAttention, SRBlock)


def context_layers(model: nn.Module) -> Dict[str, nn.Module]:
    """Every :class:`InterlacedSparseAttention` and :class:`SRBlock` of
    ``model`` by module name (an ISA head's, a plugin's in a backbone)."""
    return {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, CONTEXT_LAYERS)
    }


class ContextRecorder:
    """Records the input and output of a model's SR and ISA layers while it
    runs, and computes their maps afterwards.

    Example::

        with ContextRecorder(model) as recorder:
            model.test_step(data)
        maps = recorder.isa_attention('decode_head.isa_module.stages.0',
                                      pixel=(40, 96))

    Each layer keeps its last call (batch included); the hooks are removed
    on leaving the ``with`` block.

    Args:
        model (nn.Module): Any model holding the layers.
        names (Sequence[str], optional): Which layers to record, names of
            :func:`context_layers`. Default: None, all of them.
    """

    def __init__(self,
                 model: nn.Module,
                 names: Optional[Sequence[str]] = None):
        available = context_layers(model)
        if not available:
            raise ValueError(f'{type(model).__name__} has no SR or ISA layer '
                             '(SRBlock or InterlacedSparseAttention)')
        names = list(available) if names is None else list(names)
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ValueError(f'no SR or ISA layer named {unknown}; the model '
                             f'has {list(available)}')
        self.layers = {name: available[name] for name in names}
        self.inputs: Dict[str, Tensor] = {}
        self.outputs: Dict[str, Tensor] = {}
        self._handles = []

    def __enter__(self) -> 'ContextRecorder':
        for name, layer in self.layers.items():
            self._handles.append(
                layer.register_forward_hook(self._keeper(name)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _keeper(self, name: str):

        def keep(module, args, output):
            self.inputs[name] = args[0].detach()
            self.outputs[name] = output.detach()

        return keep

    def _recorded(self, name: str, kind=CONTEXT_LAYERS) -> nn.Module:
        if name not in self.inputs:
            raise KeyError(f'layer {name!r} has not run while recording; '
                           f'recorded: {list(self.inputs)}')
        if not isinstance(self.layers[name], kind):
            raise TypeError(f'layer {name!r} is a '
                            f'{type(self.layers[name]).__name__}, not a '
                            f'{kind.__name__}')
        return self.layers[name]

    def isa_attention(self, name: str,
                      pixel: Sequence[int]) -> ISAAttentionMaps:
        """:func:`isa_attention` of the recorded ISA layer ``name``."""
        layer = self._recorded(name, InterlacedSparseAttention)
        return isa_attention(layer, self.inputs[name], pixel)

    def sr_node_maps(self, name: str) -> Tensor:
        """:func:`sr_node_maps` of the recorded SR block ``name``."""
        return sr_node_maps(self._recorded(name, SRBlock), self.inputs[name])

    def feature_pca(self, name: str, k: int = 3):
        """The block's input and output coloured by one projection fitted
        on both (SR paper Fig. 8): two (N, k, H, W) maps in [0, 1]."""
        self._recorded(name, SRBlock)
        features = self.inputs[name], self.outputs[name]
        projection = PCAProjection(features, k)
        return tuple(projection(f) for f in features)
