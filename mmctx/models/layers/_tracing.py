"""Whether the model is being traced, exported or compiled."""
import torch


def exporting() -> bool:
    """True under ``torch.jit.trace``, ``torch.onnx.export`` (either
    exporter) and ``torch.compile``: input sizes are then graph values, and
    code must not branch on them in Python or pick kernels that exporters
    (and mmdeploy's rewriters) handle differently."""
    return (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_compiling())
