"""The layer configs the adapters give mmseg's and mmcv's modules."""
from typing import Dict, Optional

from .._checks import check_layer_cfg


def _layer_cfgs(norm_cfg: Optional[Dict]) -> Dict:
    return dict(
        conv_cfg=None,
        norm_cfg=check_layer_cfg(norm_cfg, 'norm_cfg'),
        act_cfg=dict(type='ReLU'))
