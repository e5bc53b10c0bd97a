"""Squeeze Reasoning (Li et al., TIP 2021): the squeeze (pooling), the
reasoning over nodes, the residual block and the classification gate, one per
file."""
from .pooling import (global_average_pooling, global_hadamard_pooling,
                      nodes_to_vector, vector_to_nodes)
from .reasoning import (FullyConnectedReasoning, GraphReasoning,
                        NodeAttentionReasoning, PublicGraphReasoning,
                        build_reasoning)
from .sr_block import SRBlock, public_code_cfg
from .sr_gate import SRGate

__all__ = [
    'SRBlock', 'SRGate', 'public_code_cfg', 'global_average_pooling',
    'global_hadamard_pooling', 'vector_to_nodes', 'nodes_to_vector',
    'GraphReasoning', 'PublicGraphReasoning', 'NodeAttentionReasoning',
    'FullyConnectedReasoning', 'build_reasoning'
]
