"""SRNet for image classification (SR paper Sec. IV-E, Table X): MMPretrain's
ResNet with an :class:`~mmctx.models.layers.SRGate` in every bottleneck,
where its ``SEResNet`` has squeeze-and-excitation."""
from typing import Dict, Optional

from mmpretrain.models.backbones.resnet import Bottleneck, ResLayer, ResNet

from mmctx.models.layers import SRGate
from mmctx.models.layers._checkpoint import checkpointed
from mmctx.registry import MODELS


class SRBottleneck(Bottleneck):
    """MMPretrain's ``Bottleneck`` with an :class:`SRGate` on the residual
    branch, after ``norm3`` and before the sum (SENet's place).

    Args:
        in_channels (int): Channels of the input.
        out_channels (int): Channels of the output, and of the gate.
        sr_cfg (dict, optional): Arguments of :class:`SRGate` (e.g.
            ``num_nodes``). Default: None, its defaults.
        **kwargs: MMPretrain's ``Bottleneck`` arguments.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 sr_cfg: Optional[Dict] = None,
                 **kwargs):
        super().__init__(in_channels, out_channels, **kwargs)
        self.sr_gate = SRGate(out_channels, **(sr_cfg or {}))

    def forward(self, x):
        # with_cp: our non-reentrant checkpoint, which updates BatchNorm
        # running statistics once (mmpretrain's reentrant one, twice) and
        # checkpoints in training also after a frozen stem, whose output
        # needs no gradient (as mmcv's bottlenecks do)
        if self.with_cp and self.training:
            out = checkpointed(self, self._residual_sum, x)
        else:
            out = self._residual_sum(x)
        return self.relu(out)

    def _residual_sum(self, x):
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.sr_gate(self.norm3(self.conv3(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return self.drop_path(out) + identity


@MODELS.register_module()
class SRResNet(ResNet):
    """SRNet-r50/r101 of SR paper Table X: SENet with its excitation FCs
    replaced by the graph reasoning of :class:`SRGate`.

    Config: ``backbone=dict(type='mmctx.SRResNet', depth=50)`` in an
    MMPretrain ``ImageClassifier`` (``configs/srnet/``). Parameters with a
    1000-class head: 25.64M (r50), 44.71M (r101); the paper's 25.64M and
    44.70M.

    Args:
        depth (int): 50, 101 or 152.
        sr_cfg (dict, optional): Arguments of every :class:`SRGate`.
            Default: None, K = 16 nodes, graph convolution.
        **kwargs: MMPretrain's ``ResNet`` arguments (``out_indices``,
            ``frozen_stages``, ``with_cp``, ``init_cfg``, ...).
    """

    arch_settings = {
        50: (SRBottleneck, (3, 4, 6, 3)),
        101: (SRBottleneck, (3, 4, 23, 3)),
        152: (SRBottleneck, (3, 8, 36, 3))
    }

    def __init__(self, depth: int, sr_cfg: Optional[Dict] = None, **kwargs):
        if depth not in self.arch_settings:
            raise ValueError(f'depth must be one of '
                             f'{tuple(self.arch_settings)}, but got {depth!r}')
        self.sr_cfg = dict(sr_cfg or {})
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs) -> ResLayer:
        return ResLayer(sr_cfg=self.sr_cfg, **kwargs)
