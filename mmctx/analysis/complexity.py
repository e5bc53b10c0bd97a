"""FLOPs and parameters of a whole segmentor from its config, as mmseg's
``tools/analysis_tools/get_flops.py`` counts them (inference, no auxiliary
head, one random image), or of an MMPretrain classifier, head included, with
``scaled_dot_product_attention`` counted too.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.analysis import parameter_count
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from .flops import flop_analyzer


def load_segmentor_config(path: str,
                          cfg_options: Optional[Dict] = None) -> Config:
    """A segmentation config by file or as ``mmctx::<path>``, with
    ``cfg_options`` merged.

    Raises:
        FileNotFoundError: no such file or shipped config.
        ValueError: the config builds no mmseg segmentor (a detector, say).
    """
    from ..cli import load_config
    from ..deployment import check_segmentor_config
    cfg = load_config(path, cfg_options)
    check_segmentor_config(cfg, cfg.filename)
    return cfg


def segmentor_complexity(cfg: Config, shape: Sequence[int]) -> Dict:
    """FLOPs (multiply-adds) and parameters of ``cfg.model`` in inference
    on one random image of ``shape`` (H, W).

    Returns:
        dict: ``input_shape`` (after the data preprocessor's padding),
        ``flops``, ``params``.
    """
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    if hasattr(model, 'auxiliary_head'):
        model.auxiliary_head = None
    model = revert_sync_batchnorm(model).eval()
    meta = dict(ori_shape=tuple(shape), pad_shape=tuple(shape))
    data = model.data_preprocessor({
        'inputs': [torch.rand(3, *shape)],
        'data_samples': [SegDataSample(metainfo=meta)]
    })
    with torch.no_grad():
        flops = flop_analyzer(model, data['inputs']).total()
    return dict(
        input_shape=tuple(data['inputs'].shape[-2:]),
        flops=int(flops),
        params=int(parameter_count(model)['']))


def classifier_complexity(cfg: Config, shape: Sequence[int]) -> Dict:
    """FLOPs (multiply-adds) and parameters of an MMPretrain classifier,
    head included (as SR paper Table X counts), in inference on one image
    of ``shape`` (H, W). Building reads no checkpoint: ``init_cfg`` is
    applied only by ``init_weights``.

    Returns:
        dict: ``input_shape``, ``flops``, ``params``.
    """
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    with torch.no_grad():
        flops = flop_analyzer(model, torch.rand(1, 3, *shape)).total()
    return dict(
        input_shape=tuple(shape),
        flops=int(flops),
        params=int(parameter_count(model)['']))
