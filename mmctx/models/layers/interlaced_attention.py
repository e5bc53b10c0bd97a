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
from mmcv.cnn import ConvModule, build_conv_layer
from torch import Tensor

from mmctx.registry import PLUGIN_MODELS, register_context_block
from ._checkpoint import checkpointed
from ._checks import (check_bool, check_choice, check_layer_cfgs,
                      check_positive_int, check_ratio, is_int)
from ._options import RecordedOptions
from ._residual import ResidualContextBlock, check_input
from ._tracing import exporting

ORDERS = ('long_short', 'short_long')
FUSIONS = ('concat', 'residual')
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


@PLUGIN_MODELS.register_module()
class SelfAttentionUnit(nn.Module):
    """One self-attention (paper Eq. 1-2, or Eq. 3-4 applied to a group).

    ``Z = W(softmax(theta(X) phi(X)^T / sqrt(key_channels)) g(X))``, with
    query ``theta`` and key ``phi`` each two (1x1 conv + norm + act) layers to
    ``key_channels``, value ``g`` one plain 1x1 conv and output ``W`` a
    1x1 conv + norm + act. ``W`` is deliberately not zero-initialised: the
    second step of ISA needs a non-zero input (openseg issue #35). No residual.

    Submodules ``query_project``, ``key_project`` (``nn.Sequential`` of two
    ``ConvModule``), ``value_project`` (``nn.Conv2d``) and ``out_project``
    (``ConvModule``) have the structure and state-dict keys of mmseg's ISA
    ``SelfAttentionBlock`` (whose ``output_project`` is our ``out_project``).

    Args:
        in_channels (int): Channels of the input.
        key_channels (int): Channels of query and key (half of the input in
            the paper).
        value_channels (int): Channels of the value.
        out_channels (int): Channels of the output.
        value_bias (bool): Whether the value conv has a bias: False as in
            openseg (official), True as in mmseg. Default: False.
        fused_attn (bool): Use ``F.scaled_dot_product_attention`` rather
            than the explicit ``softmax(Q K^T) V``; same result, also under
            ``torch.compile`` (export takes the explicit path). Flash
            attention needs keys as wide as values, which ISA's are not, so
            SDPA picks among its other kernels (memory-efficient, cuDNN or
            math on GPU; a fused kernel on CPU only when ``key_channels ==
            value_channels``). mmengine's FLOP counter does not count SDPA:
            set False to count FLOPs. Default: True.
        conv_cfg (dict, optional): Config of the conv layers. Default: None.
        norm_cfg (dict, optional): Config of the norm layers.
            Default: ``dict(type='BN')``.
        act_cfg (dict, optional): Config of the activations.
            Default: ``dict(type='ReLU')``.
    """

    def __init__(self,
                 in_channels: int,
                 key_channels: int,
                 value_channels: int,
                 out_channels: int,
                 value_bias: bool = False,
                 fused_attn: bool = True,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU')):
        super().__init__()
        check_layer_cfgs(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.in_channels = check_positive_int(in_channels, 'in_channels')
        self.key_channels = check_positive_int(key_channels, 'key_channels')
        self.value_channels = check_positive_int(value_channels,
                                                 'value_channels')
        self.out_channels = check_positive_int(out_channels, 'out_channels')
        self.fused_attn = check_bool(fused_attn, 'fused_attn')
        check_bool(value_bias, 'value_bias')
        self.scale = key_channels**-0.5
        layer_cfgs = dict(
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.key_project = self._build_key_query_project(**layer_cfgs)
        self.query_project = self._build_key_query_project(**layer_cfgs)
        self.value_project = build_conv_layer(
            conv_cfg, in_channels, value_channels, 1, bias=value_bias)
        self.out_project = ConvModule(value_channels, out_channels, 1,
                                      **layer_cfgs)

    def _build_key_query_project(self, **layer_cfgs) -> nn.Sequential:
        return nn.Sequential(
            ConvModule(self.in_channels, self.key_channels, 1, **layer_cfgs),
            ConvModule(self.key_channels, self.key_channels, 1, **layer_cfgs))

    def project(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Query, key and value maps (N, C_k | C_k | C_v, H, W) of ``x``."""
        return (self.query_project(x), self.key_project(x),
                self.value_project(x))

    def attend(self,
               query: Tensor,
               key: Tensor,
               value: Tensor,
               key_mask: Optional[Tensor] = None) -> Tensor:
        """``softmax(scale * Q K^T) V`` over the last two dimensions.

        Args:
            query, key (Tensor): (..., L, key_channels).
            value (Tensor): (..., L, value_channels).
            key_mask (Tensor, optional): Bool, broadcastable to (..., L, L),
                True where a key may be attended to. Every row must keep at
                least one key.

        Returns:
            Tensor: (..., L, value_channels).
        """
        if self.fused_attn and not exporting():
            # SDPA's default scale, 1 / sqrt(query.size(-1)), is ours;
            # passing it explicitly lets mmdeploy's SDPA rewrite (which
            # divides by ``scale``) inflate the logits 256-fold.
            return F.scaled_dot_product_attention(
                query, key, value, attn_mask=key_mask)
        return torch.matmul(
            self.attention_weights(query, key, key_mask), value)

    def attention_weights(self,
                          query: Tensor,
                          key: Tensor,
                          key_mask: Optional[Tensor] = None) -> Tensor:
        """``softmax(scale * Q K^T)``, (..., L, L), each row summing to 1
        over the keys ``key_mask`` keeps (arguments as :meth:`attend`)."""
        attn = torch.matmul(query, key.transpose(-2, -1))
        # scaled in place: matmul keeps its inputs for the backward, and an
        # unscaled query is the tensor the projection's activation keeps too
        attn.mul_(self.scale)
        if key_mask is not None:
            # in place: matmul's backward needs its inputs, not its output
            attn.masked_fill_(~key_mask, float('-inf'))
        return attn.softmax(dim=-1)  # rebound: frees the logits in inference

    def forward(self, x: Tensor) -> Tensor:
        """Dense self-attention over all H x W positions of ``x``."""
        check_input(x, self.in_channels, type(self).__name__)
        n, _, h, w = x.shape
        query, key, value = (
            t.flatten(2).transpose(1, 2) for t in self.project(x))
        context = self.attend(query, key, value)
        return self.out_project(
            context.transpose(1, 2).reshape(n, context.size(-1), h, w))


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


class ISAModule(nn.Module):
    """ISA context module: openseg's ``ISA_Module``.

    One :class:`InterlacedSparseAttention` per down factor (in ``stages``),
    then a fusion with the input (paper Sec. 3.3):

    * ``'concat'``: ``fuse(cat([x, context_1, ..., context_k]))`` with
      ``fuse`` a 1x1 conv + norm + act to ``out_channels``, followed by
      ``Dropout2d(dropout_ratio)``. With one down factor this is openseg's
      ``ISA_Module`` (mmseg's ``ISAHead`` concatenates ``[context, x]``:
      the input columns of ``fuse.conv.weight`` swap halves). openseg adds an
      extra 1x1 projection of ``x`` when there are several down factors; here
      ``x`` is concatenated as is.
    * ``'residual'``: ``x + dropout(fuse(cat(contexts)))`` with ``fuse`` a
      1x1 conv + norm (no activation, so the sum can decrease features);
      needs ``out_channels == in_channels``.

    Args:
        in_channels (int): Channels of the input.
        key_channels (int): Channels of queries and keys.
        out_channels (int): Channels of each context map and of the output.
        down_factors (Sequence): Down factors, one
            :class:`InterlacedSparseAttention` each; a single factor (``d``
            or ``(d_h, d_w)``) means one. Default: ((8, 8), ).
        fusion (str): ``'concat'`` or ``'residual'``. Default: ``'concat'``.
        order (str): See :class:`InterlacedSparseAttention`.
        mask_padding (bool): See :class:`InterlacedSparseAttention`.
        fused_attn (bool): See :class:`SelfAttentionUnit`.
        value_bias (bool): See :class:`SelfAttentionUnit`.
        dropout_ratio (float): Ratio of the ``Dropout2d`` after the fusion
            (openseg's ISA-Net: 0.05). 0 disables it. Default: 0.05.
        value_channels (int, optional): Channels of values. Default: None,
            meaning ``out_channels`` (openseg's head: 512).
        conv_cfg (dict, optional): Config of conv layers. Default: None.
        norm_cfg (dict, optional): Config of norm layers.
            Default: ``dict(type='BN')``.
        act_cfg (dict, optional): Config of activations.
            Default: ``dict(type='ReLU')``.
        with_cp (bool): Activation checkpointing (mmcv's ``with_cp``): each
            attention step (see :class:`InterlacedSparseAttention`) and the
            fusion keep only their inputs for the backward, which runs them
            again; the same values, gradients, dropout masks and BatchNorm
            running statistics as without it. Default: False.
    """

    def __init__(self,
                 in_channels: int,
                 key_channels: int,
                 out_channels: int,
                 down_factors: Sequence[DownFactor] = ((8, 8), ),
                 fusion: str = 'concat',
                 order: str = 'long_short',
                 mask_padding: bool = True,
                 fused_attn: bool = True,
                 value_bias: bool = False,
                 dropout_ratio: float = 0.05,
                 value_channels: Optional[int] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 with_cp: bool = False):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, 'in_channels')
        self.out_channels = check_positive_int(out_channels, 'out_channels')
        self.fusion = check_choice(fusion, 'fusion', FUSIONS)
        self.with_cp = check_bool(with_cp, 'with_cp')
        self.down_factors = as_down_factors(down_factors)
        if fusion == 'residual' and out_channels != in_channels:
            raise ValueError(
                "fusion='residual' needs out_channels == in_channels, got "
                f'out_channels={out_channels}, in_channels={in_channels}')
        check_ratio(dropout_ratio, 'dropout_ratio')
        layer_cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.stages = nn.ModuleList([
            InterlacedSparseAttention(
                in_channels,
                key_channels,
                value_channels=out_channels
                if value_channels is None else value_channels,
                out_channels=out_channels,
                down_factor=d,
                order=order,
                mask_padding=mask_padding,
                fused_attn=fused_attn,
                value_bias=value_bias,
                act_cfg=act_cfg,
                with_cp=with_cp,
                **layer_cfgs) for d in self.down_factors
        ])
        context_channels = out_channels * len(self.down_factors)
        if fusion == 'concat':
            self.fuse = ConvModule(
                in_channels + context_channels,
                out_channels,
                1,
                act_cfg=act_cfg,
                **layer_cfgs)
        else:
            self.fuse = ConvModule(
                context_channels, out_channels, 1, act_cfg=None, **layer_cfgs)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 \
            else None

    def _dropout(self, x: Tensor) -> Tensor:
        return x if self.dropout is None else self.dropout(x)

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H, W)."""
        check_input(x, self.in_channels, type(self).__name__)
        contexts = [stage(x) for stage in self.stages]
        if self.with_cp:
            return checkpointed(self, self._fuse, x, *contexts)
        return self._fuse(x, *contexts)

    def _fuse(self, x: Tensor, *contexts: Tensor) -> Tensor:
        if self.fusion == 'concat':
            return self._dropout(self.fuse(torch.cat([x, *contexts], dim=1)))
        context = contexts[0] if len(contexts) == 1 else torch.cat(
            contexts, dim=1)
        return x + self._dropout(self.fuse(context))


@register_context_block
class ISABlock(ResidualContextBlock):
    """Interlaced sparse self-attention as a residual plugin block.

    ``y = x + W_out(ISA(x))`` for ResNet bottlenecks, in the style of mmcv's
    ``NonLocal2d``: ISA reduces ``in_channels`` to ``in_channels //
    reduction`` (values and outputs; queries and keys get half of that, as in
    the paper), and ``W_out`` (1x1 conv [+ norm]) restores ``in_channels``.
    ``W_out`` is zeroed at construction and in :meth:`init_weights`, which
    mmengine calls after a backbone's ``init_cfg`` (e.g. Kaiming), so the
    block starts as the identity and a pretrained backbone keeps its
    function (:class:`ResidualContextBlock`, as :class:`SRBlock`).

    Used with mmdet/mmseg ResNets::

        plugins=[dict(cfg=dict(type='ISABlock'),
                      stages=(False, False, False, True),
                      position='after_conv3')]

    Norm: ``norm_cfg=None`` by default. Detection backbones run with
    ``norm_eval=True``, which keeps every BatchNorm of the backbone, plugins
    included, in eval mode with its initial statistics (mean 0, var 1): a BN
    there would never normalise anything (and detection batches of 1-2
    images per GPU give noisy statistics anyway). Use ``dict(type='GN',
    num_groups=...)`` for a batch-independent norm (inside the attention and
    on ``W_out``), or BN only with ``norm_eval=False``.

    Args:
        in_channels (int): Channels of the input and output.
        reduction (int): Channel reduction of the attention: values and the
            attention output have ``in_channels // reduction`` channels
            (2048 -> 512 at stage 4 of a ResNet-50 by default, cheaper than
            ``NonLocal2d``'s 1024). Default: 4.
        down_factor (int | tuple[int, int]): See
            :class:`InterlacedSparseAttention`. Default: (8, 8).
        order (str): See :class:`InterlacedSparseAttention`.
        mask_padding (bool): See :class:`InterlacedSparseAttention`.
        fused_attn (bool): See :class:`SelfAttentionUnit`.
        value_bias (bool): See :class:`SelfAttentionUnit`.
        conv_cfg (dict, optional): Config of conv layers. Default: None.
        norm_cfg (dict, optional): Config of norm layers. Default: None.
        act_cfg (dict, optional): Config of activations inside the attention.
            Default: ``dict(type='ReLU')``.
        zero_init (bool): Zero ``W_out`` (its norm if any): the block starts
            as the identity. Default: True.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Default: None.
        with_cp (bool): Activation checkpointing (mmcv's ``with_cp``, as a
            ResNet with ``with_cp=True`` has in its bottlenecks): each
            attention step keeps only its input for the backward (see
            :class:`InterlacedSparseAttention`). Default: False.
    """

    _abbr_ = 'isa_block'

    def __init__(self,
                 in_channels: int,
                 reduction: int = 4,
                 down_factor: DownFactor = (8, 8),
                 order: str = 'long_short',
                 mask_padding: bool = True,
                 fused_attn: bool = True,
                 value_bias: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 zero_init: bool = True,
                 init_cfg: Optional[dict] = None,
                 with_cp: bool = False):
        super().__init__(in_channels, zero_init, init_cfg)
        self.reduction = check_positive_int(reduction, 'reduction')
        if reduction > in_channels:
            raise ValueError(
                f'reduction={reduction} leaves no channel of in_channels='
                f'{in_channels} (the attention has in_channels // reduction)')
        inter_channels = in_channels // reduction
        self.attention = InterlacedSparseAttention(
            in_channels,
            key_channels=max(inter_channels // 2, 1),
            value_channels=inter_channels,
            out_channels=inter_channels,
            down_factor=down_factor,
            order=order,
            mask_padding=mask_padding,
            fused_attn=fused_attn,
            value_bias=value_bias,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            with_cp=with_cp)
        self.with_cp = self.attention.with_cp
        self.conv_out = ConvModule(
            inter_channels,
            in_channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.zero_init_residual()

    def out_layer(self) -> ConvModule:
        return self.conv_out

    def residual(self, x: Tensor) -> Tensor:
        """``W_out(ISA(x))``; the block's ``forward`` adds ``x``."""
        return self.conv_out(self.attention(x))
