"""Interlaced Sparse Self-Attention (ISA), Huang et al., arXiv:1907.12273.

The dense affinity matrix of self-attention (paper Eq. 1-2) is factorised into
two sparse block-diagonal ones (Eq. 5-6): a *long-range* step attends within
groups of positions spaced ``down_factor`` apart, then a *short-range* step
attends within ``down_factor`` windows (paper Fig. 3 and Fig. 5). After both
steps every output position has received information from every input
position.

Modules, from the inside out:

* :class:`SelfAttentionUnit`: one self-attention (theta, phi, g and W of the
  paper), laid out like mmseg's ISA ``SelfAttentionBlock`` so that its weights
  map one to one.
* :class:`InterlacedSparseAttention`: the two steps (and the padding); returns
  the context map, without residual.
* :class:`ISAModule`: openseg's ``ISA_Module``: one
  :class:`InterlacedSparseAttention` per down factor, fused with the input by
  concatenation or a residual sum. The core of the segmentation head.
* :class:`ISABlock`: a residual plugin for ResNet bottlenecks, registered in
  mmengine's root ``MODELS`` like mmcv's ``NonLocal2d``; identity at init.

Sizes that are not multiples of ``down_factor`` are padded symmetrically and
cropped back as in the public code (openseg, mmseg). ``mask_padding=False``
reproduces the public code exactly: zeros are padded before the projections
and take part as keys. By default (``mask_padding=True``) the input is never
padded: the first step projects the real positions only (BatchNorm statistics
included) and pads the projected maps, padded keys are masked out of the
softmax and padded queries are zero vectors, so a padded position receives
the mean value of the real positions of its group. The second step runs on
the whole padded grid without mask: its padded positions carry information
from real positions only and relay it to their window (or group), which keeps
the paper's full connectivity (every output depends on every input) at every
size. The output does not depend on the padding. A map smaller than the
down factor (stage 4 of a detector on a small image, a thin strip) is
attended with the down factor clipped to it, ``(min(d_h, H), min(d_w, W))``:
padding it instead would leave whole long-range groups without a real
position, whose outputs the second step would then spread to real ones.
``mask_padding=False`` pads such maps like the public code.
"""
from functools import partial
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmctx.registry import PLUGIN_MODELS
from .._checkpoint import checkpointed
from .._checks import check_bool, check_choice, check_positive_int, is_int
from .._options import RecordedOptions
from .._residual import check_input
from .._tracing import exporting
from .self_attention_unit import SelfAttentionUnit

ORDERS = ('long_short', 'short_long')
DownFactor = Union[int, Sequence[int]]


def as_down_factor(value, name: str = 'down_factor') -> Tuple[int, int]:
    """An int ``d`` (meaning ``(d, d)``) or a pair ``(d_h, d_w)``, all > 0."""
    pair = (value, value) if is_int(value) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(is_int(v) and v > 0 for v in pair)):
        raise ValueError(f'{name} must be a positive int or a pair of '
                         f'positive ints (height, width), got {value!r}')
    return tuple(pair)


def as_down_factors(value, name: str = 'down_factors') -> list:
    """One down factor (``d`` or a pair ``(d_h, d_w)``) -> ``[(d_h, d_w)]``;
    a sequence of them (openseg's ``down_factors``) -> a list of pairs. A
    bare pair of ints is one factor, never two."""
    if not isinstance(value, (tuple, list)) or (
            value and not any(isinstance(v, (tuple, list)) for v in value)):
        return [as_down_factor(value, name)]  # scalars: one factor
    if not value:
        raise ValueError(f'{name} must be a down factor (d or (d_h, d_w)) or '
                         f'a non-empty sequence of them, got {value!r}')
    return [as_down_factor(d, f'{name}[{i}]') for i, d in enumerate(value)]


def _clip(factor: int, size):
    """``min(factor, size)``, as a graph value while exporting (``size`` is
    a 0-dim tensor under ``torch.jit.trace``, a SymInt under
    ``torch.export``). Otherwise a Python branch, which ``torch.compile``
    guards on (``size >= factor``: one graph for maps of a window or more,
    not one per size; dynamo would turn a builtin ``min`` into a symbolic
    one), so that inductor gets plain sizes: a symbolic ``Min`` in the
    padding arithmetic fails its lowering."""
    if isinstance(size, Tensor):
        return torch.clamp(size, max=factor)
    if exporting():
        return torch.sym_min(factor, size)
    return factor if size >= factor else size


def _project_to_groups(project: nn.Sequential, x: Tensor, to_groups,
                       padded: bool) -> Tensor:
    """``to_groups(project(x))`` for a query or key projection.

    The last activation runs on the grouped copy, which is then the one
    tensor that both the activation and the attention keep for the backward,
    rather than the map and its copy.
    Not when the grouping pads the map: the activation must see the real
    positions only, so that padded queries stay zero whatever ``act_cfg``.
    """
    *layers, last = project
    for layer in layers:
        x = layer(x)
    if padded or not last.with_activation:
        return to_groups(last(x))
    return last.activate(to_groups(last(x, activate=False)))


class _GroupLayout:
    """Where each position of an H x W map goes in the ISA groups.

    The map is padded to ``(gh * dh, gw * dw)`` with ``(dh, dw)`` the down
    factor (``gh = ceil(H / dh)``), split into ``gh x gw`` windows of
    ``dh x dw`` positions. The long-range step attends within the ``dh * dw``
    groups of positions at the same offset in every window (interval
    ``down_factor``); the short-range step attends within each window (paper
    Fig. 5: ``P = down_factor``, ``Q = (gh, gw)``).

    The arithmetic is integer-only, so while a graph is traced or exported
    ``height`` and ``width`` stay graph values: one exported model computes
    the padding, crop and mask of every input size. When :func:`exporting`,
    the padding and masking are applied unconditionally (zero padding is
    a no-op), since a Python branch on the size would freeze it.
    """

    def __init__(self,
                 height,
                 width,
                 down_factor: Tuple[int, int],
                 clip: bool = False):
        self.height, self.width = height, width
        self.dh, self.dw = down_factor
        if clip:
            self.dh, self.dw = _clip(self.dh, height), _clip(self.dw, width)
        self.gh = (height + self.dh - 1) // self.dh
        self.gw = (width + self.dw - 1) // self.dw
        self.padded_size = (self.gh * self.dh, self.gw * self.dw)
        pad_h = self.padded_size[0] - height
        pad_w = self.padded_size[1] - width
        self.top, self.left = pad_h // 2, pad_w // 2
        self.padding = (self.left, pad_w - self.left, self.top,
                        pad_h - self.top)  # F.pad order: W then H
        self.is_padded = exporting() or bool(pad_h > 0 or pad_w > 0)

    def pad(self, x: Tensor) -> Tensor:
        return F.pad(x, self.padding) if self.is_padded else x

    def crop(self, x: Tensor) -> Tensor:
        if not self.is_padded:
            return x
        return x[..., self.top:self.top + self.height,
                 self.left:self.left + self.width]

    def to_groups(self, x: Tensor, step: str, pad: bool = False) -> Tensor:
        """(N, C, H', W') -> (N, groups, size, C); ``pad`` first for a map
        of the real size H x W."""
        if pad:
            x = self.pad(x)
        n, c = x.shape[:2]
        x = x.reshape(n, c, self.gh, self.dh, self.gw, self.dw)
        if step == 'long':  # groups: offsets in a window; members: windows
            x = x.permute(0, 3, 5, 2, 4, 1)
            return x.reshape(n, self.dh * self.dw, self.gh * self.gw, c)
        x = x.permute(0, 2, 4, 3, 5, 1)  # groups: windows; members: offsets
        return x.reshape(n, self.gh * self.gw, self.dh * self.dw, c)

    def from_groups(self, x: Tensor, step: str) -> Tensor:
        """Inverse of :meth:`to_groups`: (N, G, L, C) -> (N, C, H', W')."""
        n, c = x.size(0), x.size(-1)
        if step == 'long':
            x = x.view(n, self.dh, self.dw, self.gh, self.gw, c)
            x = x.permute(0, 5, 3, 1, 4, 2)
        else:
            x = x.view(n, self.gh, self.gw, self.dh, self.dw, c)
            x = x.permute(0, 5, 1, 3, 2, 4)
        return x.reshape(n, c, *self.padded_size)

    def key_mask(self, step: str, device: torch.device) -> Tensor:
        """Bool (1, G, 1, L): True at real positions; broadcasts over batch
        and queries (never materialised at (N, G, L, L)). 4-D, as the fused
        CPU kernel of SDPA takes no 3-D mask."""
        rows = torch.arange(self.padded_size[0], device=device)
        cols = torch.arange(self.padded_size[1], device=device)
        real_rows = (rows >= self.top) & (rows < self.top + self.height)
        real_cols = (cols >= self.left) & (cols < self.left + self.width)
        real = real_rows[:, None] & real_cols[None, :]
        # With the down factor clipped to the map, every group holds a real
        # position: the padding of each side is shorter than a window.
        mask = self.to_groups(real[None, None], step)[0, :, :, 0]
        return mask[None, :, None, :]


@PLUGIN_MODELS.register_module()
class InterlacedSparseAttention(RecordedOptions, nn.Module):
    """Interlaced sparse self-attention: a long-range then a short-range step.

    Paper Sec. 3.2 and Fig. 5. Each step is a :class:`SelfAttentionUnit`
    applied independently to each group of positions. Returns the context map
    only (no residual, no fusion with the input).

    The first unit maps ``in_channels -> out_channels``, the second
    ``out_channels -> out_channels`` (openseg's ``ISA_Block``; mmseg's
    ``ISAHead`` uses ``in = value = out = channels``). Submodules
    ``long_range`` and ``short_range`` keep their names whatever the order,
    so with ``order='short_long'`` it is ``short_range`` that takes
    ``in_channels``.

    Args:
        in_channels (int): Channels of the input.
        key_channels (int): Channels of queries and keys.
        value_channels (int, optional): Channels of values. Default: None,
            meaning ``in_channels`` (paper: ``g`` keeps the input width).
        out_channels (int, optional): Channels of the output. Default: None,
            meaning ``in_channels``.
        down_factor (int | tuple[int, int]): ``(d_h, d_w)``: the interval of
            the long-range groups and the size of the short-range windows
            (mmseg's ``down_factor``; ``P_h, P_w`` of paper Table 8).
            Default: (8, 8).
        order (str): ``'long_short'`` (paper default) or ``'short_long'``
            (paper Table 9). Default: ``'long_short'``.
        mask_padding (bool): Keep the positions padded to reach a multiple
            of ``down_factor`` out of the first step (masked keys, zero
            queries, projections of real positions only; see the module
            docstring), with ``down_factor`` clipped to smaller maps;
            False pads zeros before the projections and lets them be
            attended to, reproducing openseg and mmseg exactly.
            Default: True.
        fused_attn (bool): See :class:`SelfAttentionUnit`. Default: True.
        value_bias (bool): See :class:`SelfAttentionUnit`. Default: False.
        conv_cfg (dict, optional): Config of conv layers. Default: None.
        norm_cfg (dict, optional): Config of norm layers.
            Default: ``dict(type='BN')``.
        act_cfg (dict, optional): Config of activations.
            Default: ``dict(type='ReLU')``.
        with_cp (bool): Activation checkpointing (mmcv's ``with_cp``): in
            training each step keeps only its input for the backward, which
            runs the step again, so the attention maps, permuted copies and
            projections of only one step are held at a time. Values,
            gradients and BatchNorm running statistics are those without
            it (see ``checkpointed`` in ``layers/_checkpoint.py``).
            Default: False.
    """

    recorded_options = ('order', 'mask_padding')

    def __init__(self,
                 in_channels: int,
                 key_channels: int,
                 value_channels: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 down_factor: DownFactor = (8, 8),
                 order: str = 'long_short',
                 mask_padding: bool = True,
                 fused_attn: bool = True,
                 value_bias: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 with_cp: bool = False):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, 'in_channels')
        self.with_cp = check_bool(with_cp, 'with_cp')
        value_channels = in_channels if value_channels is None \
            else value_channels
        self.out_channels = in_channels if out_channels is None \
            else check_positive_int(out_channels, 'out_channels')
        self.down_factor = as_down_factor(down_factor)
        self.order = check_choice(order, 'order', ORDERS)
        self.mask_padding = check_bool(mask_padding, 'mask_padding')
        unit_cfgs = dict(
            key_channels=key_channels,
            value_channels=value_channels,
            out_channels=self.out_channels,
            value_bias=value_bias,
            fused_attn=fused_attn,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        first = SelfAttentionUnit(in_channels, **unit_cfgs)
        second = SelfAttentionUnit(self.out_channels, **unit_cfgs)
        if order == 'long_short':
            self.long_range, self.short_range = first, second
        else:
            self.short_range, self.long_range = first, second
        self.steps = tuple(order.split('_'))  # ('long', 'short') or reverse
        self.record_options()

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> context (N, out_channels, H, W)."""
        return self._attend_steps(x)

    def step_attention(self, x: Tensor) -> Tuple[list, '_GroupLayout']:
        """The attention weights of both steps on ``x``, in step order.

        Returns:
            tuple: ``[(step, weights), (step, weights)]`` with ``step``
            ``'long'`` or ``'short'`` and ``weights`` (N, G, L, L), row
            ``[n, g, i]`` the weights member ``i`` of group ``g`` gives the
            members of its group (:class:`_GroupLayout` orders them), and the
            layout of the padded grid. :mod:`mmctx.visualization` turns them
            into maps.
        """
        weights = []
        self._attend_steps(x, weights)
        return list(zip(self.steps, weights)), self._layout(x)

    def _layout(self, x: Tensor) -> '_GroupLayout':
        return _GroupLayout(
            *x.shape[-2:], self.down_factor, clip=self.mask_padding)

    def _attend_steps(self, x: Tensor, weights: Optional[list] = None):
        """The forward; with a list ``weights``, the explicit attention of
        each step, whose weights are appended to it."""
        check_input(x, self.in_channels, type(self).__name__)
        layout = self._layout(x)
        key_mask = None
        if not self.mask_padding:
            x = layout.pad(x)
        elif layout.is_padded:
            key_mask = layout.key_mask(self.steps[0], x.device)
        pad_maps = self.mask_padding  # the first step projects real positions
        for step in self.steps:
            unit = self.long_range if step == 'long' else self.short_range
            run_step = partial(self._step, unit, step, layout, key_mask,
                               pad_maps, weights)
            if self.with_cp and weights is None:
                # run bound now: the backward recomputes after the loop
                x = checkpointed(unit, lambda t, run=run_step: run([t]), x)
            else:
                held = [x]
                del x  # so that the step can free its input
                x = run_step(held)
            key_mask = None  # padded positions now hold real information
            pad_maps = False
        return layout.crop(x)

    @staticmethod
    def _step(unit: SelfAttentionUnit, step: str, layout: _GroupLayout,
              key_mask: Optional[Tensor], pad_maps: bool,
              weights: Optional[list], held: list) -> Tensor:
        """One step of :meth:`_attend_steps`: ``unit`` attending within the
        ``step`` groups of ``layout``, on the map it takes out of ``held``.
        """
        x = held.pop()
        # Each map is permuted into groups as soon as it is computed, and the
        # step input is freed before the widest copy (value): at most one map
        # exists in both layouts.
        to_groups = partial(layout.to_groups, step=step, pad=pad_maps)
        padded = pad_maps and layout.is_padded
        query = _project_to_groups(unit.query_project, x, to_groups, padded)
        key = _project_to_groups(unit.key_project, x, to_groups, padded)
        value = unit.value_project(x)
        del x
        value = to_groups(value)
        if weights is None:
            x = unit.attend(query, key, value, key_mask)
        else:
            weights.append(unit.attention_weights(query, key, key_mask))
            x = torch.matmul(weights[-1], value)
        del query, key, value
        x = layout.from_groups(x, step)  # rebound: frees the groups
        return unit.out_project(x)
