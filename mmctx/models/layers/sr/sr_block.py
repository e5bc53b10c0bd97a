"""Squeeze Reasoning (SR) block.

Paper: Xiangtai Li et al., "Towards Efficient Scene Understanding via Squeeze
Reasoning", IEEE TIP 2021 (Sec. III-B). Public code: lxtGH/SFSegNets,
``ChannelReasonModule``.

Instead of relating every pair of pixels like a non-local block, SR reasons
on one global vector per image, so its cost beyond two or three 1x1 convs does
not depend on the resolution. Three steps (paper Fig. 3):

1. **Node squeezing.** A 1x1 conv reduces ``X`` (C channels) to ``X~``
   (C / ratio channels); ``X~`` is pooled into a vector ``g`` by global average
   pooling (GAP) or global Hadamard pooling (GHP, Eq. 4:
   ``g = sum_i b_i o c_i``, the diagonal of bilinear pooling), where
   ``b = X~`` and ``c`` is one extra 1x1 projection of ``X``.
2. **Node graph reasoning.** ``g`` is split into K nodes of d channels
   (C / ratio = K * d) and refined by a graph convolution with a learned
   Laplacian (Eq. 5), by self-attention among the nodes (Eq. 6), by a fully
   connected layer (the FC row of Table III) or not at all.
3. **Feature reconstruction** (Eq. 7). The reasoned vector rescales ``X~``
   channel-wise, a 1x1 conv ``W_R`` projects it back to C channels and the
   input is added: ``Y = X + W_R(X~ o g')``.

:class:`SRGate` is the paper's classification variant (Sec. IV-E, Table X):
SENet's excitation replaced by the node graph reasoning of the GAP vector.

Where this block departs from the public code, and why (each as an option;
:func:`public_code_cfg` sets them all, which the tests check against a
transcription of ``ChannelReasonModule`` in float64):

* Table IV (512 channels, 96x96 map) fixes the layout: SR(GAP) costs exactly
  two 1x1 convs 512<->256 (2.43 GMAC, 0.26M params: reduction + ``W_R``) and
  SR(GHP) three (3.64 G, 0.40M): GHP adds one projection, pooled against
  ``X~``. The public code's theta/phi/g + output layout is
  ``ghp_projections=2``.
* GHP is normalised by the number of positions by default (``ghp_scale``,
  see :class:`SRBlock`); the public code sums.
* Nodes are contiguous channel groups as in the paper; the public code's
  strided split is ``node_order='strided'``.
* The graph step is Eq. 5, ``act(W_g (Z - A_g Z))``, without BatchNorm1d on
  node tensors (it fails in training with batch size 1 and stays frozen
  under mmdet's ``norm_eval=True``); the public code's
  ``Z + act(BN(A_g Z))``, then ``act(BN(W_g .))``, is
  ``reasoning='gcn_public'``.
* ``W_R`` is a dense 1x1 conv (Eq. 7) and the 1x1 projections have biases;
  the public code's ``W_R`` is grouped (``out_groups``) and followed by
  GroupNorm (``norm_cfg``), its projections are bias-free (``proj_bias``).
* The block is the identity at initialisation (``zero_init``), as mmcv's
  ``NonLocal2d`` and ``ContextBlock`` are, so it can be inserted into a
  pretrained backbone.
"""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmctx.registry import register_context_block
from .._checkpoint import checkpointed
from .._checks import (check_bool, check_choice, check_layer_cfgs,
                       check_positive_int)
from .._options import RecordedOptions
from .._residual import ResidualContextBlock
from .pooling import (global_average_pooling, global_hadamard_pooling,
                      nodes_to_vector, vector_to_nodes)
from .reasoning import REASONING_MODES, build_reasoning

SQUEEZE_MODES = ('gap', 'ghp')
NODE_ORDERS = ('contiguous', 'strided')
GHP_SCALES = ('mean', 'sum')
GHP_PROJECTIONS = (1, 2)


@register_context_block
class SRBlock(RecordedOptions, ResidualContextBlock):
    """Squeeze Reasoning block (SRNet, paper Sec. III-B, Eq. 4-7).

    ``Y = X + W_R(X~ o reason(squeeze(X~)))`` with ``X~`` the 1x1-reduced
    input. Usable as a ResNet plugin (``position='after_conv3'``) and inside
    a decode head; see the module docstring for an overview.

    Args:
        in_channels (int): Channels C of the input feature map.
        ratio (int | float): Channel reduction ratio: ``X~`` has
            ``in_channels / ratio`` channels, which must be a whole number.
            Default: 2 (paper Sec. IV-A.3).
        num_nodes (int): Number of nodes K the squeezed vector is split into;
            must divide the reduced channels. Default: 16 (paper Sec.
            IV-A.3; the public code uses 32).
        squeeze (str): ``'gap'`` (global average pooling of ``X~``) or
            ``'ghp'`` (global Hadamard pooling, Eq. 4). Default: 'ghp'.
        reasoning (str): ``'gcn'`` (graph convolution with the learned
            Laplacian ``I - A_g``, Eq. 5), ``'gcn_public'`` (the public
            code's graph step, with BatchNorm1d and the identity added:
            :class:`PublicGraphReasoning`), ``'attention'`` (self-attention
            among nodes, Eq. 6), ``'fc'`` (one fully connected layer over the
            vector, Table III) or ``'none'`` (the squeezed vector is used as
            it is). Default: 'gcn'.
        node_order (str): Which channels form a node. ``'contiguous'``: node
            k is channels ``k*d ... (k+1)*d - 1``, as the paper describes.
            ``'strided'``: the public code's split, node k is channels
            ``k, k + K, k + 2K, ...``, merged back node-major, so the value
            reasoned from channel ``j*K + k`` rescales channel ``k*d + j``
            (a fixed channel permutation). Default: 'contiguous'.
        ghp_scale (str): ``'mean'`` divides Eq. 4 by the number of positions
            H*W (one scale at every input size: the README's Design),
            ``'sum'`` is Eq. 4 and the public code. Ignored when
            ``squeeze='gap'``. Default: 'mean'.
        ghp_projections (int): 1: GHP pools ``X~`` against one extra 1x1
            projection of X (three 1x1 convs in all, the paper's Table IV
            costs). 2: two fresh projections phi and g are pooled and ``X~``
            (theta) is only rescaled, the public code's four-conv layout.
            Ignored when ``squeeze='gap'``. Default: 1.
        proj_bias (bool): Biases in the 1x1 projections of X (``X~`` and
            the GHP ones); the public code has none. Default: True.
        out_groups (int): Groups of ``W_R``: 1 is a dense 1x1 conv (Eq. 7);
            the public code's is grouped, one reduced channel to
            ``in_channels / channels`` outputs (``out_groups`` = the reduced
            channels). Must divide both widths. Default: 1.
        zero_init (bool): Zero the last layer of the residual branch (the
            norm after ``W_R`` if there is one, else ``W_R``) at construction
            and after ``init_weights()``: the block starts as the identity.
            False keeps the default initialisation, as the public code.
            Default: True.
        conv_cfg (dict | None): Config of the 1x1 convs. Default: None.
        norm_cfg (dict | None): Norm after ``W_R`` (the public code uses
            GroupNorm there; ``NonLocal2d`` likewise applies its ``norm_cfg``
            to its output conv only). Default: None (Eq. 7: ``W_R`` is linear).
        act_cfg (dict | None): The sigma of Eq. 5 and 6, also used after the
            FC layer; None for linear reasoning. Default: dict(type='ReLU').
        init_cfg (dict | list[dict] | None): Initialisation config.
            Default: None.
        with_cp (bool): Activation checkpointing (mmcv's ``with_cp``, as a
            ResNet with ``with_cp=True`` has in its bottlenecks): in
            training the branch keeps only its input for the backward,
            which runs it again. Values, gradients and BatchNorm running
            statistics are those without it. Default: False.
    """

    _abbr_ = 'sr_block'
    recorded_options = ('node_order', 'ghp_scale')

    def __init__(self,
                 in_channels: int,
                 ratio: Union[int, float] = 2,
                 num_nodes: int = 16,
                 squeeze: str = 'ghp',
                 reasoning: str = 'gcn',
                 node_order: str = 'contiguous',
                 ghp_scale: str = 'mean',
                 ghp_projections: int = 1,
                 proj_bias: bool = True,
                 out_groups: int = 1,
                 zero_init: bool = True,
                 conv_cfg: Optional[Dict] = None,
                 norm_cfg: Optional[Dict] = None,
                 act_cfg: Optional[Dict] = dict(type='ReLU'),
                 init_cfg: Optional[Union[Dict, list]] = None,
                 with_cp: bool = False):
        check_layer_cfgs(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.channels = reduced_channels(in_channels, ratio)
        check_out_groups(out_groups, self.channels, in_channels)
        check_num_nodes(num_nodes, self.channels)
        check_choice(squeeze, 'squeeze', SQUEEZE_MODES)
        check_choice(reasoning, 'reasoning', REASONING_MODES)
        check_choice(node_order, 'node_order', NODE_ORDERS)
        check_choice(ghp_scale, 'ghp_scale', GHP_SCALES)
        check_choice(ghp_projections, 'ghp_projections', GHP_PROJECTIONS)
        super().__init__(in_channels, zero_init, init_cfg)
        self.ratio = ratio
        self.num_nodes = num_nodes
        self.node_channels = self.channels // num_nodes
        self.squeeze = squeeze
        self.reasoning_mode = reasoning
        self.node_order = node_order
        self.ghp_scale = ghp_scale
        self.with_cp = check_bool(with_cp, 'with_cp')
        self.proj_bias = check_bool(proj_bias, 'proj_bias')

        self.reduce = self._projection(conv_cfg)
        if squeeze == 'ghp':
            self.ghp_projs = nn.ModuleList(
                self._projection(conv_cfg) for _ in range(ghp_projections))
        self.reasoning = build_reasoning(reasoning, num_nodes,
                                         self.node_channels, act_cfg)
        self.out_proj = ConvModule(
            self.channels,
            in_channels,
            kernel_size=1,
            groups=out_groups,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.zero_init_residual()
        self.record_options()

    def _projection(self, conv_cfg: Optional[Dict]) -> ConvModule:
        return ConvModule(
            self.in_channels,
            self.channels,
            kernel_size=1,
            bias=self.proj_bias,
            conv_cfg=conv_cfg,
            act_cfg=None)

    def out_layer(self) -> ConvModule:
        return self.out_proj

    def squeeze_nodes(self, x: torch.Tensor,
                      reduced: torch.Tensor) -> torch.Tensor:
        """Node squeezing (Sec. III-B.1): (N, C', H, W) ``X~`` -> (N, C')."""
        if self.squeeze == 'gap':
            return global_average_pooling(reduced)
        if len(self.ghp_projs) == 1:
            b, c = reduced, self.ghp_projs[0](x)
        else:
            b, c = (proj(x) for proj in self.ghp_projs)
        return global_hadamard_pooling(b, c, self.ghp_scale)

    def reason(self, vector: torch.Tensor) -> torch.Tensor:
        """Node graph reasoning (Sec. III-B.2): (N, C') -> (N, C')."""
        nodes = vector_to_nodes(vector, self.num_nodes, self.node_order)
        return nodes_to_vector(self.reasoning(nodes))

    def reasoned_feature(self, x: torch.Tensor) -> torch.Tensor:
        """``X~ o g'`` of Eq. 7, (N, C', H, W): the reduced map rescaled by
        the reasoned vector, before ``W_R``. Node ``k`` holds channels
        ``k*d ... (k+1)*d - 1`` (both node orders merge node-major)."""
        reduced = self.reduce(x)
        reasoned = self.reason(self.squeeze_nodes(x, reduced))
        return reduced * reasoned.to(reduced.dtype)[:, :, None, None]

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The branch of paper Eq. 7: (N, C, H, W) -> (N, C, H, W); the
        block's ``forward`` adds ``x``."""
        if self.with_cp:
            return checkpointed(self, self._branch, x)
        return self._branch(x)

    def _branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.reasoned_feature(x))

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, ratio={self.ratio}, '
                f'num_nodes={self.num_nodes}, squeeze={self.squeeze!r}, '
                f'reasoning={self.reasoning_mode!r}, '
                f'node_order={self.node_order!r}, '
                f'ghp_scale={self.ghp_scale!r}, zero_init={self.zero_init}, '
                f'with_cp={self.with_cp}')


def public_code_cfg(in_channels: int) -> Dict:
    """:class:`SRBlock` options that compute what the public code's
    ``ChannelReasonModule(in_channels, in_channels // 2)`` computes
    (lxtGH/SFSegNets ``network/nn/operators.py``, the same at 531067b and
    ba475ba): 32 nodes, strided node order, GHP as an unnormalised sum of
    two fresh projections, the public graph step, a grouped ``W_R`` with
    GroupNorm, bias-free projections, no zero initialisation."""
    channels = reduced_channels(in_channels, 2)
    return dict(
        ratio=2,
        num_nodes=32,
        squeeze='ghp',
        reasoning='gcn_public',
        node_order='strided',
        ghp_scale='sum',
        ghp_projections=2,
        proj_bias=False,
        out_groups=channels,
        zero_init=False,
        norm_cfg=dict(type='GN', num_groups=channels))


def reduced_channels(in_channels: int,
                     ratio: Union[int, float],
                     in_name: str = 'in_channels') -> int:
    """``in_channels / ratio``, checked to be a whole positive number;
    errors call the input width ``in_name`` (a head calls it channels)."""
    check_positive_int(in_channels, in_name)
    if (isinstance(ratio, bool) or not isinstance(ratio, (int, float))
            or not ratio > 0):
        raise ValueError(f'ratio must be a positive number, but got {ratio!r}')
    channels = in_channels / ratio
    if channels < 1 or channels != int(channels):
        raise ValueError(
            f'ratio={ratio!r} must divide {in_name}={in_channels} into a '
            f'whole number of reduced channels, but gives {channels}')
    return int(channels)


def check_out_groups(out_groups: int, channels: int, in_channels: int) -> None:
    """``out_groups`` must divide the reduced ``channels`` and
    ``in_channels`` (the widths of ``W_R``)."""
    check_positive_int(out_groups, 'out_groups')
    if channels % out_groups or in_channels % out_groups:
        raise ValueError(
            f'out_groups={out_groups} must divide the reduced channels '
            f'({channels}) and in_channels ({in_channels})')


def check_num_nodes(num_nodes: int,
                    channels: int,
                    in_name: str = 'in_channels') -> None:
    """``num_nodes`` must divide the reduced ``channels``."""
    check_positive_int(num_nodes, 'num_nodes')
    if channels % num_nodes:
        raise ValueError(
            f'num_nodes={num_nodes} must divide the reduced channels '
            f'({in_name} / ratio = {channels})')
