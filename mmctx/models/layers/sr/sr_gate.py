"""SRGate: the SR vector as SENet-style channel gates (SR paper Table X,
classification)."""
from typing import Dict

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer

from mmctx.registry import register_context_block
from .._checks import check_choice, check_layer_cfg, check_positive_int
from .._options import RecordedOptions
from .._residual import check_input
from .pooling import global_average_pooling, nodes_to_vector, vector_to_nodes
from .reasoning import REASONING_MODES, build_reasoning
from .sr_block import NODE_ORDERS


@register_context_block
class SRGate(RecordedOptions, nn.Module):
    """Squeeze Reasoning as a channel gate (SRNet, paper Sec. IV-E, Table X).

    SENet's excitation with its two fully connected layers replaced by the
    node graph reasoning: ``y = x o sigmoid(reason(GAP(x)))``. The GAP
    vector of ``x`` (no reduction, no GHP: the paper drops GHP here "for
    both saving computation and fair comparison with SENet") is split into
    K nodes of ``in_channels / K`` channels, reasoned over as in
    :class:`SRBlock` (Eq. 5 by default, with the sigmoid as its sigma) and
    multiplied back channel-wise. With K = 16 the gates of a ResNet-50's 16
    bottlenecks add 82,688 parameters (K^2 + (C/K)^2 each, the 25.64M of
    Table X) where SE's add 2.53M.

    Used in every bottleneck of :class:`mmctx.SRResNet` (as mmpretrain's
    SEResNet uses SE), and as a plugin of mmdet/mmseg ResNets::

        plugins=[dict(cfg=dict(type='SRGate'), position='after_conv3',
                      stages=(True, True, True, True))]

    Args:
        in_channels (int): Channels C of the input and output.
        num_nodes (int): Number of nodes K; must divide ``in_channels``.
            Default: 16 (paper Sec. IV-A.3).
        reasoning (str): See :class:`SRBlock`: ``'gcn'``, ``'attention'``,
            ``'fc'`` or ``'none'`` (the gate is ``sigmoid(GAP(x))``).
            Default: 'gcn'.
        node_order (str): See :class:`SRBlock`. Default: 'contiguous'.
        gate_cfg (dict): The activation that turns the reasoned vector into
            gates. Default: ``dict(type='Sigmoid')``, SENet's.
    """

    _abbr_ = 'sr_gate'
    recorded_options = ('node_order', )

    def __init__(self,
                 in_channels: int,
                 num_nodes: int = 16,
                 reasoning: str = 'gcn',
                 node_order: str = 'contiguous',
                 gate_cfg: Dict = dict(type='Sigmoid')):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, 'in_channels')
        self.num_nodes = check_positive_int(num_nodes, 'num_nodes')
        if in_channels % num_nodes:
            raise ValueError(f'num_nodes={num_nodes} must divide '
                             f'in_channels={in_channels}')
        self.reasoning_mode = check_choice(reasoning, 'reasoning',
                                           REASONING_MODES)
        self.node_order = check_choice(node_order, 'node_order', NODE_ORDERS)
        self.reasoning = build_reasoning(reasoning, num_nodes,
                                         in_channels // num_nodes, None)
        self.gate = build_activation_layer(
            check_layer_cfg(gate_cfg, 'gate_cfg'))
        self.record_options()

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """The channel gates of ``x``: (N, C, H, W) -> (N, C)."""
        nodes = vector_to_nodes(
            global_average_pooling(x), self.num_nodes, self.node_order)
        return self.gate(nodes_to_vector(self.reasoning(nodes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, type(self).__name__)
        return x * self.gates(x).to(x.dtype)[:, :, None, None]

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'num_nodes={self.num_nodes}, '
                f'reasoning={self.reasoning_mode!r}, '
                f'node_order={self.node_order!r}')
