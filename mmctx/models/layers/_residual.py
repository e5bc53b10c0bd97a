"""What SRBlock and ISABlock share: ``y = x + W_out(context(x))``, the
identity at initialisation, as mmcv's ``NonLocal2d`` and ``ContextBlock``
start."""
from typing import Dict, List, Optional, Union

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, constant_init
from torch import Tensor

from ._checks import check_bool, check_positive_int


def check_input(x: Tensor, in_channels: int, owner: str) -> None:
    """``x`` must be (N, in_channels, H, W) with H, W >= 1 (N may be 0); the
    error names ``owner``."""
    if x.dim() != 4 or x.size(1) != in_channels:
        raise ValueError(
            f'{owner} expects input of shape (N, in_channels={in_channels}, '
            f'H, W), got {tuple(x.shape)}')
    if x.size(2) == 0 or x.size(3) == 0:
        raise ValueError(f'{owner} expects a map of at least 1x1 positions, '
                         f'got input of shape {tuple(x.shape)}')


def last_zero_init(conv: ConvModule) -> None:
    """Zero the last layer of ``conv``: its norm if it has one (like
    ``NonLocal2d``), else the conv (mmcv's ``last_zero_init``). The output
    is then zero while ``conv`` still gets a gradient."""
    constant_init(conv.norm if conv.with_norm else conv.conv, 0)


class ResidualContextBlock(BaseModule):
    """Base of the plugin blocks: ``forward`` checks the input and returns
    ``x + self.residual(x)``; ``self.out_layer()`` (a ``ConvModule``, the
    last layer of the residual branch) is zeroed at construction and again
    at the end of :meth:`init_weights`, which mmengine calls after a
    backbone's ``init_cfg`` has reached every conv, so the block starts as
    the identity and a pretrained backbone keeps its function.

    Args:
        in_channels (int): Channels of the input and output.
        zero_init (bool): Zero the residual branch's last layer. False keeps
            the default (or ``init_cfg``) initialisation. Default: True.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 zero_init: bool = True,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = check_positive_int(in_channels, 'in_channels')
        self.zero_init = check_bool(zero_init, 'zero_init')

    def out_layer(self) -> ConvModule:
        raise NotImplementedError

    def residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def zero_init_residual(self) -> None:
        if self.zero_init:
            last_zero_init(self.out_layer())

    def init_weights(self) -> None:
        """Apply ``init_cfg`` and the sub-modules' inits, then zero the
        residual branch (``zero_init``)."""
        super().init_weights()
        self.zero_init_residual()

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels, type(self).__name__)
        return x + self.residual(x)
