"""Whether the model is being traced, exported or compiled."""
import torch

try:
    from torch.compiler import is_compiling as _is_compiling
except ImportError:  # torch < 2.3 has it in torch._dynamo only
    from torch._dynamo import is_compiling as _is_compiling


def exporting() -> bool:
    """True under ``torch.jit.trace``, ``torch.onnx.export`` (either
    exporter) and ``torch.compile``: input sizes are then graph values, and
    code must not branch on them in Python or pick kernels that exporters
    (and mmdeploy's rewriters) handle differently."""
    return (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or _is_compiling())
