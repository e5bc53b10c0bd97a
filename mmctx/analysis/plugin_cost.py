"""Parameters and FLOPs that backbone plugins and context blocks add to
detection configs.

For every config, the backbone is built twice, as the config says and
without its additions (``plugins=None`` and, for ``mmctx.DetContextResNet``
and ``DetContextResNeXt``, no block in any stage), and both are counted
with :func:`mmctx.analysis.count_flops` (mmengine's jit counter, which
counts convolutions and the attention matmuls: ``matmul``, ``bmm``,
``einsum`` and ``scaled_dot_product_attention``). The difference is what
the blocks cost; the heads and the neck are identical in both builds. One
multiply-add counts as one FLOP (mmengine, fvcore and mmdet's
``get_flops.py``), element-wise operations are not counted.
"""
import copy
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict

from .flops import count_flops, count_params

DETECTION_PREFIXES = ('mask-rcnn', 'cascade-mask-rcnn', 'panoptic-fpn')


def find_configs(paths: Iterable[str]) -> List[str]:
    """Config files given directly, and detection configs inside folders."""
    configs = []
    for path in paths:
        if osp.isdir(path):
            configs += sorted(
                osp.join(path, name) for name in os.listdir(path) if
                name.endswith('.py') and name.startswith(DETECTION_PREFIXES))
        elif osp.isfile(path):
            configs.append(path)
        else:
            raise FileNotFoundError(f'no config file or folder at {path!r}')
    if not configs:
        raise ValueError(f'no detection config found in {list(paths)}')
    return configs


def without_additions(backbone: ConfigDict) -> ConfigDict:
    """A copy of a backbone config without plugins and context blocks: the
    stock backbone."""
    backbone = copy.deepcopy(backbone)
    backbone.plugins = None
    if 'context_cfg' in backbone:
        backbone.context_after = ((), ) * backbone.get('num_stages', 4)
    return backbone


def build_detector(cfg: Config, with_plugins: bool = True) -> torch.nn.Module:
    """The detector of ``cfg`` with its backbone's ``init_cfg`` dropped
    (nothing downloaded) and, unless ``with_plugins``, without its plugins
    and context blocks (:func:`without_additions`)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    model_cfg = copy.deepcopy(cfg.model)
    if not with_plugins:
        model_cfg.backbone = without_additions(model_cfg.backbone)
    model_cfg.backbone.init_cfg = None
    return MODELS.build(model_cfg).eval()


def count_image_flops(module: torch.nn.Module, shape: Tuple[int, int]) -> int:
    return count_flops(module, torch.zeros(1, 3, *shape))


def _block_name(cfg: Dict) -> str:
    args = ', '.join(f'{k}={v}' for k, v in cfg.items() if k != 'type')
    return f"{cfg['type']}({args})"


def plugin_names(cfg: Config, backbone: torch.nn.Module) -> str:
    """E.g. ``ISABlock(reduction=8) after_conv3 @ stage 4`` for plugins,
    ``NonLocal2d() after bottleneck 5/6 @ stage 3`` for context blocks
    (1-based, as ``stage_blocks`` of the built ``backbone`` counts them)."""
    parts = []
    for plugin in cfg.model.backbone.get('plugins') or []:
        stages = '+'.join(
            str(i + 1) for i, used in enumerate(plugin.stages) if used)
        parts.append(f'{_block_name(plugin.cfg)} {plugin.position} '
                     f'@ stage {stages}')
    for stage, after in enumerate(getattr(backbone, 'context_after', ())):
        blocks = backbone.stage_blocks[stage]
        for i in after:
            parts.append(f'{_block_name(cfg.model.backbone.context_cfg)} '
                         f'after bottleneck {i + 1}/{blocks} @ stage '
                         f'{stage + 1}')
    return '; '.join(parts)


def plugin_cost(config: str,
                shape: Tuple[int, int],
                cache: Dict,
                cfg_options: Optional[Dict] = None) -> Dict:
    """What one config's plugins add.

    Args:
        config (str): a detection config file.
        shape (tuple[int, int]): the input image (H, W).
        cache (dict): shared between calls: equal backbones and detectors
            are built and counted once.
        cfg_options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        dict: ``params`` and ``flops`` the plugins add, ``backbone_flops``
        (without them), ``detector_params`` (without them), ``config``,
        ``plugins`` (:func:`plugin_names`).
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('default_scope') != 'mmdet':
        raise ValueError(
            f'{config} is not an MMDetection config (default_scope='
            f"{cfg.get('default_scope')!r}): plugin_cost counts the blocks "
            "of a detector's backbone; tools/get_flops.py counts a "
            'segmentor')
    backbone_key = repr(cfg.model.backbone.to_dict())
    if backbone_key not in cache:
        with_plugins = build_detector(cfg).backbone
        without = build_detector(cfg, with_plugins=False).backbone
        cache[backbone_key] = dict(
            params=count_params(with_plugins) - count_params(without),
            flops=count_image_flops(with_plugins, shape) -
            count_image_flops(without, shape),
            backbone_flops=count_image_flops(without, shape),
            plugins=plugin_names(cfg, with_plugins))
    base_model = copy.deepcopy(cfg.model)
    base_model.backbone = without_additions(base_model.backbone)
    detector_key = repr(base_model.to_dict())
    if detector_key not in cache:
        cache[detector_key] = count_params(
            build_detector(cfg, with_plugins=False))
    return dict(
        cache[backbone_key],
        detector_params=cache[detector_key],
        config=config)


def format_table(rows: List[Dict], shape: Tuple[int, int]) -> str:
    """:func:`plugin_cost` rows as a markdown table."""
    lines = [
        f'| Config | Plugins | +Params (M) | +Params (% of detector) | '
        f'+GFLOPs at {shape[0]}x{shape[1]} | +% of backbone FLOPs |',
        '| :-- | :-- | --: | --: | --: | --: |',
    ]
    for row in rows:
        lines.append(f"| {osp.basename(row['config'])} | {row['plugins']} | "
                     f"{row['params'] / 1e6:.2f} | "
                     f"{100 * row['params'] / row['detector_params']:.1f} | "
                     f"{row['flops'] / 1e9:.2f} | "
                     f"{100 * row['flops'] / row['backbone_flops']:.1f} |")
    return '\n'.join(lines)
