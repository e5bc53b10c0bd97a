"""ONNX export of mmctx segmentors, checked against PyTorch on values.

Shared by ``tools/export_onnx.py`` and the tests: build a segmentor from a
config (random weights when no checkpoint), wrap it as a graph from the
preprocessed batch to full-resolution logits, export it with either of
torch's exporters, and compare onnxruntime's logits with PyTorch's.
"""
import copy
import inspect
import math
import warnings
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EXPORTERS = ('torchscript', 'dynamo')
#: The lowest ONNX opset the segmentors export at (at 9 and 10 the
#: TorchScript exporter fails on the resize of the logits).
MIN_OPSET = 11


def randomise_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give every parameter and norm statistic a random value away from its
    initialisation, at a scale that keeps activations in range: weights
    ``N(0, 1/fan_in)``, scales and running variances ``U(0.5, 1.5)``,
    biases and running means ``N(0, 0.1)``. Zero-initialised layers (the
    residual branches of SR and ISA blocks) become active, so an export that
    drops or mis-scales them shows in the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            leaf = name.rsplit('.', 1)[-1]
            if tensor.dim() > 1:
                fan_in = tensor[0].numel()
                value = torch.randn(tensor.shape, generator=g) / fan_in**0.5
            elif leaf in ('weight', 'running_var'):
                value = torch.rand(tensor.shape, generator=g) + 0.5
            else:
                value = torch.randn(tensor.shape, generator=g) * 0.1
            tensor.copy_(value)
    return module


def build_segmentor(config: str,
                    checkpoint: Optional[str] = None,
                    cfg_options: Optional[Dict] = None) -> nn.Module:
    """An mmseg segmentor from ``config`` in eval mode on the CPU, SyncBN
    turned into BN, nothing downloaded. Without ``checkpoint`` its weights
    are random (:func:`randomise_`) and a warning says so."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS

    from .cli import load_config
    cfg = load_config(config, cfg_options)
    check_segmentor_config(cfg, config)
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    cfg.model.train_cfg = None
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if checkpoint is None:
        warnings.warn(
            f'No checkpoint given: {config} is exported with RANDOM weights. '
            'The file checks the export, not a trained model.',
            stacklevel=2)
        randomise_(model)
    else:
        # strict: a checkpoint of another model would otherwise leave the
        # random initialisation in place, and export it
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.eval()


def check_segmentor_config(cfg, path: str) -> None:
    """Refuse, naming ``path`` and what it builds, a config that is not an
    mmseg segmentor with a decode head (a detector, say)."""
    model = cfg.get('model', {})
    if 'decode_head' not in model:
        raise ValueError(
            f'{path} builds {model.get("type")!r} (default_scope '
            f'{cfg.get("default_scope")!r}), not an mmseg segmentor with a '
            'decode_head: this tool takes segmentation configs. For the '
            'detection plugins see docs/en/user_guides/deployment.md.')


class SegmentorLogits(nn.Module):
    """The graph that is exported: the preprocessed batch ``(N, 3, H, W)``
    to the logits of ``EncoderDecoder.encode_decode`` at the input size,
    ``(N, num_classes, H, W)``. Same values as ``encode_decode`` with
    ``img_shape=(H, W)``, written without image metas so that ``H`` and
    ``W`` stay dynamic."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor
        # exporters restore the wrapper's mode afterwards, on every child
        self.train(segmentor.training)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        head = self.segmentor.decode_head
        logits = head(self.segmentor.extract_feat(inputs))
        return F.interpolate(
            logits,
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=head.align_corners)


def export_has_dynamo_switch() -> bool:
    """Whether ``torch.onnx.export`` takes ``dynamo=`` (torch >= 2.5)."""
    return 'dynamo' in inspect.signature(torch.onnx.export).parameters


def export_onnx(model: nn.Module,
                path: str,
                inputs: torch.Tensor,
                dynamic: bool = False,
                opset: int = 17,
                exporter: str = 'torchscript') -> int:
    """Export ``model(inputs)`` to ``path``; with ``dynamic`` the batch,
    height and width are free. Returns the opset the file declares (the
    dynamo exporter writes at least 18, whatever ``opset`` asks)."""
    import onnx
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter must be one of {EXPORTERS}, got '
                         f'{exporter!r}')
    if exporter == 'dynamo' and not export_has_dynamo_switch():
        raise RuntimeError(
            f"exporter='dynamo' needs torch >= 2.5 (torch.onnx.export's "
            f'dynamo= argument); this is torch {torch.__version__}: use '
            "exporter='torchscript'")
    names = dict(input_names=['input'], output_names=['output'])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # tracer and exporter chatter
        if exporter == 'torchscript':
            axes = {0: 'batch', 2: 'height', 3: 'width'}
            # torch >= 2.9 defaults to dynamo; before 2.5 there is no switch
            switch = dict(dynamo=False) if export_has_dynamo_switch() \
                else {}
            torch.onnx.export(
                model, (inputs, ),
                path,
                opset_version=opset,
                dynamic_axes=dict(input=axes, output=axes)
                if dynamic else None,
                **names,
                **switch)
        else:
            dims = None
            if dynamic:
                dim = torch.export.Dim
                dims = ({
                    0: dim('batch', max=64),
                    2: dim('height', min=8, max=4096),
                    3: dim('width', min=8, max=4096)
                }, )
            # it writes 18 or later; asking for less only makes its
            # version converter fail loudly and keep 18
            torch.onnx.export(
                model, (inputs, ),
                path,
                opset_version=max(opset, 18),
                dynamo=True,
                dynamic_shapes=dims,
                external_data=False,
                verbose=False,
                **names)
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    return max(
        o.version for o in graph.opset_import if o.domain in ('', 'ai.onnx'))


def onnx_logits(path: str, inputs: torch.Tensor) -> np.ndarray:
    """Run the exported file in onnxruntime (CPU)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])
    return session.run(None, {'input': inputs.numpy()})[0]


def compare_with_onnxruntime(model: nn.Module, path: str,
                             inputs: torch.Tensor) -> Tuple[float, float]:
    """Max absolute difference between onnxruntime's and PyTorch's logits,
    and that difference relative to the largest PyTorch logit. An output of
    the wrong shape raises."""
    with torch.no_grad():
        expected = model(inputs).numpy()
    got = onnx_logits(path, inputs)
    if got.shape != expected.shape:
        raise RuntimeError(f'the ONNX model returned {got.shape} for input '
                           f'{tuple(inputs.shape)}, PyTorch {expected.shape}')
    abs_diff = float(np.abs(got - expected).max())
    return abs_diff, abs_diff / max(float(np.abs(expected).max()), 1e-12)


def errors_against_float64(model: nn.Module, path: str,
                           inputs: torch.Tensor) -> Tuple[float, float]:
    """The largest error of onnxruntime's logits and of float32 PyTorch's,
    each against float64 PyTorch (the exact arithmetic, as near as it can
    be had) and relative to its largest logit.

    float32 PyTorch is itself off by its rounding (1e-4 to 1e-3 relative
    for a ResNet with randomised BatchNorm statistics): an export is right
    when onnxruntime is no further off than that, whatever the model."""
    exact = copy.deepcopy(model).double()
    with torch.no_grad():
        reference = exact(inputs.double()).numpy()
        float32 = model(inputs).double().numpy()
    got = onnx_logits(path, inputs).astype(np.float64)
    if got.shape != reference.shape:
        raise RuntimeError(f'the ONNX model returned {got.shape} for input '
                           f'{tuple(inputs.shape)}, PyTorch '
                           f'{reference.shape}')
    scale = max(float(np.abs(reference).max()), 1e-300)
    return (float(np.abs(got - reference).max()) / scale,
            float(np.abs(float32 - reference).max()) / scale)


def export_error_ratio(onnx_error: float, float32_error: float) -> float:
    """How many times float32 PyTorch's own error onnxruntime's is; float32
    PyTorch's error counts as at least float32's epsilon."""
    return onnx_error / max(float32_error, float(np.finfo(np.float32).eps))


def size_unit(model: SegmentorLogits) -> int:
    """The input size multiple at which no ISA layer pads: the backbone's
    output stride times the largest down factor (1 without ISA)."""
    factors = [
        max(m.down_factor) for m in model.modules()
        if hasattr(m, 'down_factor') and isinstance(m.down_factor, tuple)
    ]
    probe = torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.segmentor.extract_feat(probe)
    stride = 64 // min(f.shape[-1] for f in feats)
    return stride * max(factors, default=1)


def check_sizes(shape: Sequence[int], unit: int) -> List[Tuple[int, ...]]:
    """Batch and sizes to check a dynamic export at, beside ``shape``: one
    multiple of ``unit`` and two sizes that are not (one with batch 2).
    ``shape`` must be at least ``unit`` in both sizes."""
    h, w = shape
    if min(h, w) < unit:
        raise ValueError(
            f'shape {tuple(shape)}: a dynamic export is checked at sizes '
            f'around it, which needs at least {unit} (output stride x down '
            'factor) in both sizes')
    up = [unit * (math.ceil(s / unit) + 1) for s in (h, w)]
    return [(1, up[0], up[1]), (2, h + unit // 2 + 1, w - unit // 4 - 3),
            (1, h - unit // 2 - 1, w + unit + 5)]


def random_inputs(sizes: Iterable[Tuple[int, int, int]], seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, h, w, generator=g) for n, h, w in sizes]
