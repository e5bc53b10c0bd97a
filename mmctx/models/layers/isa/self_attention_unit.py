"""One self-attention (theta, phi, g and W of the ISA paper), laid out like
mmseg's ISA ``SelfAttentionBlock`` so that its weights map one to one."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_conv_layer
from torch import Tensor

from mmctx.registry import PLUGIN_MODELS
from .._checks import check_bool, check_layer_cfgs, check_positive_int
from .._residual import check_input
from .._tracing import exporting


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
