"""What the context modules learned, as tensors and pictures: ISA's attention
map of one pixel (ISA paper Fig. 8), SR's node groups (SR paper Fig. 6) and
the PCA of a block's input and output features (SR paper Fig. 8), from a
layer and its input or, through :class:`ContextRecorder`'s hooks, from a
whole segmentor or detector."""
from .maps import (ISAAttentionMaps, PCAProjection, feature_pca, isa_attention,
                   sr_node_maps)
from .recorder import ContextRecorder, context_layers

__all__ = [
    'ISAAttentionMaps', 'PCAProjection', 'feature_pca', 'isa_attention',
    'sr_node_maps', 'ContextRecorder', 'context_layers'
]
