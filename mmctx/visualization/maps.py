"""The maps: ISA's attention of one pixel, SR's node groups, a feature PCA.

Each function takes a layer and the input it sees (or, for a head, the
backbone features) and returns tensors on the layer's feature grid;
:mod:`mmctx.visualization.pictures` draws them over an image.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from ..models.decode_heads import ISAHead, SRHead
from ..models.layers import (InterlacedSparseAttention, ISABlock, ISAModule,
                             SRBlock)
from ..models.layers._residual import check_input

ISALayer = Union[InterlacedSparseAttention, ISABlock, ISAModule, ISAHead]
SRLayer = Union[SRBlock, SRHead]


class ISAAttentionMaps(NamedTuple):
    """The attention of one output position over the input positions.

    Attributes:
        attention (Tensor): (N, H, W), the weights of ``A^S A^L`` (paper
            Eq. 3-6, in the layer's ``order``): how much each input
            position contributes to the output position through both
            steps. Sums to 1 over the map when the layer masks its padding
            (``mask_padding=True``); with ``mask_padding=False`` the rest,
            ``padded_weight``, falls on the zeros padded around the map.
        first (Tensor): (N, H, W), the first step's row of the position.
        second (Tensor): (N, H, W), the second step's row of the position,
            over the positions whose first-step results it gathers.
        steps (tuple[str, str]): The steps in order (``'long'``,
            ``'short'``).
        padded_weight (Tensor): (N,), the weight ``attention`` puts on
            padded positions (0 up to rounding with ``mask_padding=True``).
    """
    attention: Tensor
    first: Tensor
    second: Tensor
    steps: Tuple[str, str]
    padded_weight: Tensor


def isa_attention(layer: ISALayer,
                  x,
                  pixel: Sequence[int],
                  stage: int = 0) -> ISAAttentionMaps:
    """The attention of output position ``pixel`` over every input position.

    Args:
        layer: An :class:`InterlacedSparseAttention`, or an
            :class:`ISABlock`, :class:`ISAModule` or ``mmctx.ISAHead``
            holding one.
        x (Tensor | Sequence[Tensor]): The layer's input (N, C, H, W); for
            an ``ISAHead``, the backbone features it is called with.
        pixel (Sequence[int]): ``(y, x)`` on the H x W grid of the
            attention's input.
        stage (int): Which down factor's attention of an ``ISAModule`` or
            ``ISAHead`` with several. Default: 0.

    Returns:
        ISAAttentionMaps: The maps on the H x W grid.
    """
    attention, x = _resolve_isa(layer, x, stage)
    height, width = x.shape[-2:]
    y, x_ = _check_pixel(pixel, height, width)
    with torch.no_grad():
        weights, layout = attention.step_attention(x)
    position = (layout.top + y) * layout.padded_size[1] + layout.left + x_
    (first_step, first), (second_step, second) = weights
    first_groups = _Membership(layout, first_step, x.device)
    second_groups = _Membership(layout, second_step, x.device)

    group, member = second_groups.of(position)
    second_row = second[:, group, member]  # (N, L2)
    relays = second_groups.members[group]  # (L2,) padded-grid positions
    relay_groups, relay_members = first_groups.of(relays)
    first_rows = first[:, relay_groups, relay_members]  # (N, L2, L1)
    combined = _scatter(first_groups.members[relay_groups],
                        second_row[:, :, None] * first_rows, layout)
    own_group, own_member = first_groups.of(position)
    first_map = _scatter(first_groups.members[own_group],
                         first[:, own_group, own_member], layout)
    second_map = _scatter(relays, second_row, layout)

    crop = layout.crop
    attention_map = crop(combined)
    padded = combined.sum(dim=(1, 2)) - attention_map.sum(dim=(1, 2))
    return ISAAttentionMaps(attention_map, crop(first_map), crop(second_map),
                            (first_step, second_step), padded)


class _Membership:
    """Which padded-grid positions form each group of one step, and the
    group and member index of each position."""

    def __init__(self, layout, step: str, device: torch.device):
        grid = layout.padded_size
        ids = torch.arange(grid[0] * grid[1], device=device).view(1, 1, *grid)
        self.members = layout.to_groups(ids, step)[0, :, :, 0]  # (G, L)
        groups, size = self.members.shape
        self.group = torch.empty_like(ids.flatten())
        self.member = torch.empty_like(ids.flatten())
        flat = self.members.flatten()
        self.group[flat] = torch.arange(
            groups, device=device).repeat_interleave(size)
        self.member[flat] = torch.arange(size, device=device).repeat(groups)

    def of(self, positions) -> Tuple[Tensor, Tensor]:
        return self.group[positions], self.member[positions]


def _scatter(positions: Tensor, values: Tensor, layout) -> Tensor:
    """Sum ``values`` (N, *positions.shape) into an (N, H', W') map of the
    padded grid at ``positions``."""
    grid = layout.padded_size
    n = values.size(0)
    out = values.new_zeros(n, grid[0] * grid[1])
    out.index_add_(1, positions.flatten(), values.reshape(n, -1))
    return out.view(n, *grid)


def _resolve_isa(layer, x, stage: int):
    """The :class:`InterlacedSparseAttention` of ``layer`` and its input."""
    if isinstance(layer, ISAHead):
        with torch.no_grad():
            x = layer.in_conv(layer._transform_inputs(x))
        layer = layer.isa_module
    if isinstance(layer, ISABlock):
        layer = layer.attention
    if isinstance(layer, ISAModule):
        if not 0 <= stage < len(layer.stages):
            raise ValueError(f'stage={stage!r} is not one of the '
                             f'{len(layer.stages)} down factors '
                             f'{layer.down_factors}')
        layer = layer.stages[stage]
    if not isinstance(layer, InterlacedSparseAttention):
        raise TypeError('layer must be an InterlacedSparseAttention, '
                        'ISABlock, ISAModule or mmctx.ISAHead, got '
                        f'{type(layer).__name__}')
    return layer, _check_map(x, 'x')


def _check_map(x, name: str) -> Tensor:
    if not (isinstance(x, Tensor) and x.dim() == 4):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f'{name} must be a feature map (N, C, H, W), '
                         f'got {shape}')
    return x


def _check_pixel(pixel, height: int, width: int) -> Tuple[int, int]:
    if not (isinstance(pixel, (tuple, list)) and len(pixel) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in pixel)):
        raise ValueError(f'pixel must be (y, x), two ints, got {pixel!r}')
    y, x = pixel
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(f'pixel={tuple(pixel)} lies outside the '
                         f'{height}x{width} feature map')
    return y, x


def sr_node_maps(block: SRLayer, x) -> Tensor:
    """For each node group of an SR block, the map of its most salient
    channel of the reasoned feature ``X~ o g'`` (SR paper Fig. 6).

    The paper does not define salience; here it is a channel's mean
    absolute value over the map, taken per image.

    Args:
        block: An :class:`SRBlock`, or an ``mmctx.SRHead`` holding one.
        x (Tensor | Sequence[Tensor]): The block's input (N, C, H, W); for
            an ``SRHead``, the backbone features it is called with.

    Returns:
        Tensor: (N, K, H, W), node ``k``'s channel in plane ``k``.
    """
    block, x = _resolve_sr(block, x)
    with torch.no_grad():
        feature = block.reasoned_feature(x)
    n, _, height, width = feature.shape
    groups = feature.view(n, block.num_nodes, block.node_channels, height,
                          width)
    salient = groups.abs().mean(dim=(3, 4)).argmax(dim=2)  # (N, K)
    index = salient[:, :, None, None, None].expand(-1, -1, 1, height, width)
    return groups.gather(2, index)[:, :, 0]


def _resolve_sr(block, x):
    if isinstance(block, SRHead):
        with torch.no_grad():
            x = block.convs[0](block._transform_inputs(x))
        block = block.sr_block
    if not isinstance(block, SRBlock):
        raise TypeError('block must be an SRBlock or mmctx.SRHead, got '
                        f'{type(block).__name__}')
    check_input(x, block.in_channels, 'SRBlock')
    return block, x


class PCAProjection:
    """The first ``k`` principal components of feature vectors, each
    scaled to [0, 1] over the features it was fitted on.

    Fitted on every position of every map given (float64), so that one
    projection can colour a block's input and its output alike (SR paper
    Fig. 8). A component's sign is fixed so that its largest loading is
    positive, which makes the colours reproducible.

    Args:
        features (Tensor | Sequence[Tensor]): (N, C, H, W) maps with the
            same C.
        k (int): Components. Default: 3 (RGB).
    """

    def __init__(self, features: Union[Tensor, Sequence[Tensor]], k: int = 3):
        maps = [features] if isinstance(features, Tensor) else list(features)
        if not maps:
            raise ValueError('features must hold at least one map')
        vectors = torch.cat([self._vectors(f, i) for i, f in enumerate(maps)])
        channels = vectors.size(1)
        if isinstance(
                k, bool) or not isinstance(k, int) or not (1 <= k <= channels):
            raise ValueError(f'k must be an int in [1, {channels}] (the '
                             f'channels), got {k!r}')
        self.mean = vectors.mean(dim=0)
        centred = vectors - self.mean
        _, eigenvectors = torch.linalg.eigh(centred.T @ centred)
        components = eigenvectors.flip(1)[:, :k].T  # (k, C), largest first
        largest = components.abs().argmax(dim=1, keepdim=True)
        self.components = components * components.gather(1, largest).sign()
        projected = centred @ self.components.T
        self.low = projected.min(dim=0).values
        self.high = projected.max(dim=0).values

    @staticmethod
    def _vectors(features: Tensor, index: int) -> Tensor:
        _check_map(features, f'features[{index}]')
        return features.detach().double().permute(0, 2, 3, 1).flatten(0, 2)

    def __call__(self, features: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, k, H, W) in [0, 1] (clamped outside the
        fitted range; a component without variance gives 0)."""
        n, channels, height, width = _check_map(features, 'features').shape
        if channels != self.mean.numel():
            raise ValueError(f'features have {channels} channels, the '
                             f'projection was fitted on {self.mean.numel()}')
        projected = (self._vectors(features, 0) -
                     self.mean) @ self.components.T
        span = (self.high -
                self.low).clamp(min=torch.finfo(projected.dtype).tiny)
        scaled = ((projected - self.low) / span).clamp(0, 1)
        return scaled.view(n, height, width, -1).permute(0, 3, 1,
                                                         2).to(features.dtype)


def feature_pca(
        features: Tensor,
        k: int = 3,
        fit_on: Optional[Union[Tensor, List[Tensor]]] = None) -> Tensor:
    """The first ``k`` principal components of ``features`` as maps in
    [0, 1] (RGB for ``k=3``; SR paper Fig. 8).

    Args:
        features (Tensor): (N, C, H, W).
        k (int): Components. Default: 3.
        fit_on (Tensor | list[Tensor], optional): Maps to fit the
            projection on instead of ``features``: pass ``[input, output]``
            of a block to colour both with one projection. Default: None.

    Returns:
        Tensor: (N, k, H, W).
    """
    return PCAProjection(features if fit_on is None else fit_on, k)(features)
