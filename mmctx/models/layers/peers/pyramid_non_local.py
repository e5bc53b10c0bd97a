"""ANN's asymmetric pyramid non-local block as a ``C -> C`` block."""
from typing import Dict, Optional, Sequence

import torch.nn as nn
from torch import Tensor

from mmctx.registry import register_context_block
from .._checks import check_positive_int, is_int
from .._options import RecordedOptions
from ._layer_cfgs import _layer_cfgs


@register_context_block
class PyramidNonLocal(RecordedOptions, nn.Module):
    """ANN's asymmetric pyramid non-local block (mmseg's ``APNB``): keys
    and values pooled to the ``key_pool_scales`` grids.

    Args:
        in_channels (int): Channels of the input and output.
        key_pool_scales (Sequence[int]): Pooled grids. Default: (1, 3, 6, 8).
        channels (int, optional): Key and value channels. Default: None,
            ``in_channels // 2``.
        norm_cfg (dict, optional): Norm of its layers. Default: BN.
    """

    recorded_options = ('key_pool_scales', )

    def __init__(self,
                 in_channels: int,
                 key_pool_scales: Sequence[int] = (1, 3, 6, 8),
                 channels: Optional[int] = None,
                 norm_cfg: Optional[Dict] = dict(type='BN')):
        super().__init__()
        from mmseg.models.decode_heads.ann_head import APNB
        c = check_positive_int(in_channels, 'in_channels')
        if not isinstance(key_pool_scales, (tuple, list)) or \
                not key_pool_scales or not all(
                    is_int(s) and s > 0 for s in key_pool_scales):
            # a 0 grid pools nothing: the context would be exactly zero
            raise ValueError('key_pool_scales must be a non-empty sequence of '
                             f'positive ints, but got {key_pool_scales!r}')
        self.key_pool_scales = tuple(key_pool_scales)
        self.apnb = APNB(
            in_channels=c,
            channels=c // 2 if channels is None else check_positive_int(
                channels, 'channels'),
            out_channels=c,
            query_scales=(1, ),
            key_pool_scales=self.key_pool_scales,
            **_layer_cfgs(norm_cfg))
        self.record_options()

    def forward(self, x: Tensor) -> Tensor:
        return self.apnb(x)
