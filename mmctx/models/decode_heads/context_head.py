"""A context module in a dilated-FCN head: the layout in which both papers
compare context modules, with the module named in the config."""
from typing import Dict, List, Optional

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.fcn_head import FCNHead

from mmctx.registry import MODELS, PLUGIN_MODELS
from ..layers._checks import check_choice, is_int
from ._checks import check_decode_head_args

FUSIONS = ('none', 'concat')


def _context_module(context_cfg: Optional[Dict], channels: int):
    if context_cfg is None:
        return torch.nn.Identity()
    if not isinstance(context_cfg, dict) or 'type' not in context_cfg:
        raise TypeError('context_cfg must be a config dict with a type (e.g. '
                        "dict(type='NonLocal2d')), or None, but got "
                        f'{context_cfg!r}')
    cfg = dict(context_cfg)
    name = cfg['type']
    if isinstance(name, str) and name.startswith('mmctx.') and \
            MODELS.get(name) is None and PLUGIN_MODELS.get(name[6:]):
        raise KeyError(
            f'context_cfg has type={name!r}: the blocks live in mmengine\'s '
            f'root registry, as mmcv\'s NonLocal2d does; write '
            f'type={name[6:]!r}')
    if cfg.setdefault('in_channels', channels) != channels:
        raise ValueError(
            f'context_cfg has in_channels={cfg["in_channels"]!r}, but the '
            f'module sits on the head\'s channels={channels}: leave '
            'in_channels out of context_cfg')
    return MODELS.build(cfg)


@MODELS.register_module()
class ContextHead(FCNHead):
    """Any context module after the first 3x3 conv of an FCN head.

    Two layouts, the papers' comparison settings:

    * ``num_convs=2`` (SR paper Sec. IV-A.4, Table IV; mmseg's ``NLHead``):
      the module sits between the two 3x3 convs::

          x -> conv3x3 -> context -> conv3x3 [-> cat(x, .) -> conv3x3] -> cls

      :class:`SRHead` is this layout with an ``SRBlock``.
    * ``num_convs=1, fusion='concat'`` (ISA paper Sec. 4.1, Tables 10 and
      12): the module's output is concatenated with its input and fused by
      a 1x1 conv + norm + act, as :class:`ISAHead` fuses its attention::

          x -> conv3x3 -> y -> cat(y, context(y)) -> fuse (1x1) -> cls

    Args:
        context_cfg (dict, optional): Config of the module, built with
            ``in_channels=channels`` by its bare name from mmengine's root
            registry: ours (``'SRBlock'``, ``'SelfAttentionUnit'``,
            ``'DownsampledSelfAttention'``, ``'CGNLBlock'``, the adapters of
            :mod:`mmctx.models.layers.peers`, every name of
            :data:`mmctx.registry.CONTEXT_BLOCKS`) or mmcv's
            (``'NonLocal2d'``, ``'ContextBlock'``). None: no module (the
            convs alone, SR Table IV's "+2 * 3x3"). Default: None.
        fusion (str): ``'none'``: the module's output replaces its input
            (blocks with their own residual). ``'concat'``: as drawn above;
            the module returns a context map of
            ``context_cfg.get('out_channels', channels)`` channels.
            Default: 'none'.
        **kwargs: :class:`mmseg.models.decode_heads.FCNHead` arguments
            (``in_channels``, ``channels``, ``num_convs`` (1 or 2),
            ``concat_input``, ``dropout_ratio``, ``norm_cfg``, ...).
    """

    def __init__(self,
                 context_cfg: Optional[Dict] = None,
                 fusion: str = 'none',
                 **kwargs):
        check_decode_head_args(kwargs)
        check_choice(fusion, 'fusion', FUSIONS)
        num_convs = kwargs.setdefault('num_convs', 2)
        if not is_int(num_convs) or num_convs not in (1, 2):
            raise ValueError('ContextHead places its module after the first '
                             f'conv: num_convs must be 1 or 2, got '
                             f'{num_convs!r}')
        super().__init__(**kwargs)
        self.fusion = fusion
        self.context = _context_module(context_cfg, self.channels)
        context_channels = (context_cfg or {}).get('out_channels',
                                                   self.channels)
        if fusion == 'none' and context_channels != self.channels:
            raise ValueError(
                f"with fusion='none' the module's output replaces its input: "
                f'context_cfg has out_channels={context_channels!r}, but the '
                f"head has channels={self.channels}; use fusion='concat'")
        if fusion == 'concat':
            self.fuse = ConvModule(
                self.channels + context_channels,
                self.channels,
                1,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg)

    def _forward_feature(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Features before ``cls_seg``: (N, channels, H, W)."""
        x = self._transform_inputs(inputs)
        feats = self.convs[0](x)
        context = self.context(feats)
        if self.fusion == 'none' and context.size(1) != self.channels:
            raise ValueError(
                f"with fusion='none' the module's output replaces its input, "
                f'but {type(self.context).__name__} returned '
                f'{context.size(1)} channels for the head\'s channels='
                f"{self.channels}; use fusion='concat'")
        if self.fusion == 'concat':
            context = self.fuse(torch.cat([feats, context], dim=1))
        feats = self.convs[1:](context)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats
