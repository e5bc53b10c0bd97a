"""DFNet backbones (Li et al., "Partial Order Pruning: for Best
Speed/Accuracy Trade-off in Neural Architecture Search", CVPR 2019), the
real-time trunks of DF-Seg and of SRNet's real-time model (SR paper Sec.
IV-B, Table V)."""
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmseg.models.backbones.resnet import BasicBlock
from mmseg.models.utils import ResLayer
from torch.nn.modules.batchnorm import _BatchNorm

from ...registry import MODELS
from ..layers._checks import check_choice

# name, planes, blocks, stride of each residual stage after the stem
# ``stage1``, as in the public code, so that its ImageNet checkpoints
# (df1_imagenet.pth, df2_imagenet.pth) load key for key.
ARCH_SETTINGS = {
    'v1': (('stage2', 64, 3, 2), ('stage3', 128, 3, 2), ('stage4', 256, 3, 2),
           ('stage5', 512, 1, 1)),
    'v2': (('stage2_1', 64, 2, 2), ('stage2_2', 128, 1, 1),
           ('stage3_1', 128, 10, 2), ('stage3_2', 256, 1, 1),
           ('stage4_1', 256, 4, 2), ('stage4_2', 512, 2, 1)),
}
# The stages whose outputs are the three levels (x3, x4, x5) that feed the
# DF-Seg decoder: strides 16, 32, 32 (v1) and 8, 16, 32 (v2).
LEVELS = {
    'v1': ('stage3', 'stage4', 'stage5'),
    'v2': ('stage2_2', 'stage3_2', 'stage4_2'),
}


@MODELS.register_module()
class DFNet(BaseModule):
    """DFNet-v1 / DFNet-v2 backbone.

    A stem ``stage1`` of two 3x3 stride-2 convs (3->32->64, each with norm
    and ReLU) and stages of standard ResNet basic blocks (mmseg's
    :class:`BasicBlock` in :class:`ResLayer`):

    - v1: 3x64 (s2), 3x128 (s2), 3x256 (s2), 1x512;
    - v2: 2x64 (s2), 1x128, 10x128 (s2), 1x256, 4x256 (s2), 2x512.

    Module names follow the public code of the SR paper's authors
    (``stage1.0.weight``, ``stage2_1.0.conv1.weight``, ...), so its ImageNet
    checkpoints load through ``init_cfg=dict(type='Pretrained',
    checkpoint=...)`` with no missing or unexpected keys.

    Args:
        arch (str): ``'v1'`` or ``'v2'``. Default: 'v2'.
        in_channels (int): Input channels. Default: 3.
        out_indices (Sequence[int]): Which of the three levels
            ``(x3, x4, x5)`` to return (channels 128, 256, 512; strides
            16/32/32 for v1, 8/16/32 for v2). Default: (0, 1, 2).
        frozen_stages (int): -1 freezes nothing, 0 the stem ``stage1``, and
            ``i > 0`` the stem and the first ``i`` residual stages of
            :data:`ARCH_SETTINGS` (parameters fixed, norms in eval mode).
            Default: -1.
        conv_cfg (dict | None): Config of the convs. Default: None.
        norm_cfg (dict): Config of the norms. Default: dict(type='BN').
        norm_eval (bool): Keep the norms in eval mode while training (their
            statistics frozen). Default: False.
        init_cfg (dict | list[dict] | None): Initialisation config, e.g.
            ``dict(type='Pretrained', checkpoint='df2_imagenet.pth')``.
            Default: None (Kaiming for convs, ones/zeros for norms).
    """

    def __init__(self,
                 arch: str = 'v2',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2),
                 frozen_stages: int = -1,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(
                    type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)
        self.arch = check_choice(arch, 'arch', tuple(ARCH_SETTINGS))
        stages = ARCH_SETTINGS[arch]
        if not (isinstance(out_indices, (tuple, list)) and out_indices and all(
                i in (0, 1, 2) and not isinstance(i, bool)
                for i in out_indices)):
            raise ValueError(
                'out_indices must be a non-empty sequence of '
                f'level indices in (0, 1, 2), got {out_indices!r}')
        if frozen_stages not in range(-1, len(stages) + 1):
            raise ValueError(
                f'frozen_stages must be an int from -1 to {len(stages)} for '
                f'arch {arch!r}, got {frozen_stages!r}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        self.stage1 = nn.Sequential(
            build_conv_layer(
                conv_cfg, in_channels, 32, 3, stride=2, padding=1, bias=False),
            build_norm_layer(norm_cfg, 32)[1], nn.ReLU(inplace=True),
            build_conv_layer(
                conv_cfg, 32, 64, 3, stride=2, padding=1, bias=False),
            build_norm_layer(norm_cfg, 64)[1], nn.ReLU(inplace=True))
        self.stage_names = ['stage1']
        inplanes = 64
        for name, planes, blocks, stride in stages:
            self.add_module(
                name,
                ResLayer(
                    BasicBlock,
                    inplanes,
                    planes,
                    blocks,
                    stride=stride,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg))
            self.stage_names.append(name)
            inplanes = planes * BasicBlock.expansion
        self.level_names = [LEVELS[arch][i] for i in self.out_indices]
        self._freeze_stages()

    def _freeze_stages(self):
        for name in self.stage_names[:self.frozen_stages + 1]:
            stage = getattr(self, name)
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def forward(self, x):
        levels = {}
        for name in self.stage_names:
            x = getattr(self, name)(x)
            levels[name] = x
        return tuple(levels[name] for name in self.level_names)

    def train(self, mode: bool = True):
        """Also keeps frozen stages, and with ``norm_eval`` every norm, in
        eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
