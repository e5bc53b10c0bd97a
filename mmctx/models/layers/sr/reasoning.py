"""The reasoning over SR's K nodes (paper Sec. III-C, Table III): graph
convolution (Eq. 5; the public code's variant), node attention (Eq. 6), one
fully connected layer, or none."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer

REASONING_MODES = ('gcn', 'gcn_public', 'attention', 'fc', 'none')


def _build_act(act_cfg: Optional[Dict]) -> nn.Module:
    return nn.Identity() if act_cfg is None else build_activation_layer(
        act_cfg)


class GraphReasoning(nn.Module):
    """Graph convolution over nodes, paper Eq. 5.

    ``G_out = act(W_g G_in (I - A_g))`` where ``G_in`` is the d x K matrix of
    node features (one column per node), ``A_g`` (K x K) is a learned
    adjacency and ``W_g`` (d x d) the state update. Nodes are stored here as
    (N, K, d) rows, so ``adjacency.weight`` is ``A_g`` transposed and
    ``state_update.weight`` is ``W_g``.

    Args:
        num_nodes (int): K.
        node_channels (int): d.
        act_cfg (dict | None): sigma of Eq. 5.
    """

    def __init__(self, num_nodes: int, node_channels: int,
                 act_cfg: Optional[Dict]):
        super().__init__()
        self.adjacency = nn.Linear(num_nodes, num_nodes, bias=False)
        self.state_update = nn.Linear(node_channels, node_channels, bias=False)
        self.act = _build_act(act_cfg)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        """(N, K, d) -> (N, K, d)."""
        diffused = self.adjacency(nodes.transpose(1, 2)).transpose(1, 2)
        smoothed = nodes - diffused  # G (I - A_g): the identity is a residual
        return self.act(self.state_update(smoothed))


class PublicGraphReasoning(nn.Module):
    """The graph step of the public code (lxtGH/SFSegNets ``network/nn/
    operators.py``, ``ChannelReasonModule``, at 531067b and ba475ba).

    ``Z' = Z + act(BN(A_g Z))``, then ``act(BN(W_g Z'))``: the identity is
    added where Eq. 5 subtracts ``A_g Z`` (the code's comment says
    ``Z - A_g Z``; a learned ``A_g`` absorbs the sign), and each linear map
    is followed by a BatchNorm1d over the nodes (K) or the node features
    (d). Nodes are (N, K, d) rows as in :class:`GraphReasoning`.

    Args:
        num_nodes (int): K.
        node_channels (int): d.
        act_cfg (dict | None): The activation after each norm.
    """

    def __init__(self, num_nodes: int, node_channels: int,
                 act_cfg: Optional[Dict]):
        super().__init__()
        self.adjacency = nn.Linear(num_nodes, num_nodes, bias=False)
        self.adjacency_norm = nn.BatchNorm1d(num_nodes)
        self.state_update = nn.Linear(node_channels, node_channels, bias=False)
        self.state_norm = nn.BatchNorm1d(node_channels)
        self.act = _build_act(act_cfg)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        """(N, K, d) -> (N, K, d)."""
        diffused = self.adjacency(nodes.transpose(1, 2)).transpose(1, 2)
        smoothed = nodes + self.act(self.adjacency_norm(diffused))
        updated = self.state_norm(self.state_update(smoothed).transpose(1, 2))
        return self.act(updated.transpose(1, 2))


class NodeAttentionReasoning(nn.Module):
    """Self-attention over nodes, paper Eq. 6.

    ``G_out = act(rho(G) softmax(phi(G)^T theta(G) / sqrt(d)))``: the affinity
    between node m (``phi``, the paper's query) and node n (``theta``, its
    key) weights the values ``rho`` of all nodes m that node n gathers. Eq. 6
    writes the affinity unnormalised; the softmax with the 1/sqrt(d) scale of
    the self-attention it cites (non-local Eq. 2, the delta there) keeps the
    product from growing with the cube of the input scale.

    Args:
        node_channels (int): d.
        act_cfg (dict | None): sigma of Eq. 6.
    """

    def __init__(self, node_channels: int, act_cfg: Optional[Dict]):
        super().__init__()
        self.phi = nn.Linear(node_channels, node_channels, bias=False)
        self.theta = nn.Linear(node_channels, node_channels, bias=False)
        self.rho = nn.Linear(node_channels, node_channels, bias=False)
        self.act = _build_act(act_cfg)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        """(N, K, d) -> (N, K, d)."""
        query, key, value = self.phi(nodes), self.theta(nodes), self.rho(nodes)
        # affinity[:, n, m] = theta_n . phi_m, normalised over the gathered m
        affinity = torch.matmul(key, query.transpose(1, 2))
        affinity = (affinity * nodes.size(-1)**-0.5).softmax(dim=-1)
        return self.act(torch.matmul(affinity, value))


class FullyConnectedReasoning(nn.Module):
    """One fully connected layer on the whole vector (Table III, FC row).

    It is the unstructured counterpart of :class:`GraphReasoning`, whose
    linear map is the Kronecker-factorised ``(I - A_g)^T (x) W_g``.

    Args:
        channels (int): Length of the vector, K * d.
        act_cfg (dict | None): Activation after the layer.
    """

    def __init__(self, channels: int, act_cfg: Optional[Dict]):
        super().__init__()
        self.fc = nn.Linear(channels, channels, bias=False)
        self.act = _build_act(act_cfg)

    def forward(self, nodes: torch.Tensor) -> torch.Tensor:
        """(N, K, d) -> (N, K, d)."""
        return self.act(self.fc(nodes.flatten(1))).view_as(nodes)


def build_reasoning(reasoning: str, num_nodes: int, node_channels: int,
                    act_cfg: Optional[Dict]) -> nn.Module:
    """The node graph reasoning of :class:`SRBlock`'s ``reasoning`` mode
    over K = ``num_nodes`` nodes of d = ``node_channels``."""
    if reasoning == 'gcn':
        return GraphReasoning(num_nodes, node_channels, act_cfg)
    if reasoning == 'gcn_public':
        return PublicGraphReasoning(num_nodes, node_channels, act_cfg)
    if reasoning == 'attention':
        return NodeAttentionReasoning(node_channels, act_cfg)
    if reasoning == 'fc':
        return FullyConnectedReasoning(num_nodes * node_channels, act_cfg)
    return nn.Identity()
