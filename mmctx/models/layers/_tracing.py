"""Whether the model is being traced or exported: then input sizes are graph
values, and code must not branch on them in Python or pick kernels that
exporters (and mmdeploy's rewriters) handle differently. ``torch.compile``
is not exporting: the compiled model takes eager's path (SDPA, no padding
where the map divides, checkpointing)."""
import torch

try:
    from torch.compiler import is_compiling as _is_compiling
except ImportError:  # torch < 2.3 has it in torch._dynamo only
    from torch._dynamo import is_compiling as _is_compiling
try:
    from torch.compiler import is_exporting as _is_exporting
except ImportError:  # torch < 2.5 cannot tell torch.compile from export
    _is_exporting = _is_compiling


def exporting() -> bool:
    """True under ``torch.jit.trace``, ``torch.onnx.export`` (either
    exporter) and ``torch.export``; False under ``torch.compile``, except
    on a torch without ``torch.compiler.is_exporting``, where compiling
    looks like exporting and takes the export path."""
    return (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or _is_exporting())


def compiling() -> bool:
    """True under ``torch.compile`` (not exporting): dynamo traces the
    forward and AOT autograd partitions it."""
    return _is_compiling() and not exporting()
