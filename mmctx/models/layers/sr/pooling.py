"""The squeeze of SR (paper Sec. III-B): a feature map to one channel vector
(global average or Hadamard pooling), and the vector to K nodes and back."""
import torch


def _widened(x: torch.Tensor) -> torch.Tensor:
    """``x`` in at least fp32 (fp16/bf16 widened, fp64 kept)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def global_hadamard_pooling(b: torch.Tensor,
                            c: torch.Tensor,
                            scale: str = 'mean') -> torch.Tensor:
    """Global Hadamard pooling, paper Eq. 4: ``sum_i b_i o c_i``.

    Args:
        b (Tensor): First map, (N, C, H, W).
        c (Tensor): Second map, (N, C, H, W).
        scale (str): ``'sum'`` over the H*W positions (Eq. 4) or ``'mean'``
            (Eq. 4 divided by H*W). Default: 'mean'.

    Returns:
        Tensor: (N, C), in the dtype of ``b``.
    """
    n, channels, height, width = b.shape
    # Accumulate in fp32 with autocast off: a sum of H*W fp16 products
    # overflows long before the (normalised) result does.
    with torch.autocast(device_type=b.device.type, enabled=False):
        # sum_p b * c as a batched (1 x P) @ (P x 1) product: no N x C x P
        # temporary, and MatMul exports at any opset (einsum needs 12)
        # (flatten, not reshape(..., -1): -1 is ambiguous for batch 0)
        pooled = torch.matmul(
            _widened(b.flatten(2).unsqueeze(2)),
            _widened(c.flatten(2).unsqueeze(3))).reshape(n, channels)
        if scale == 'mean':
            pooled = pooled / (height * width)
    return pooled.to(b.dtype)


def global_average_pooling(x: torch.Tensor) -> torch.Tensor:
    """Global average pooling of (N, C, H, W) to (N, C), fp32 accumulation."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        pooled = _widened(x).mean(dim=(2, 3))
    return pooled.to(x.dtype)


def vector_to_nodes(vector: torch.Tensor, num_nodes: int,
                    node_order: str) -> torch.Tensor:
    """Split (N, C) vectors into (N, K, d) node features, C = K * d.

    ``'contiguous'``: node k holds channels ``k*d ... k*d + d - 1`` (paper).
    ``'strided'``: node k holds channels ``k, k + K, k + 2K, ...`` (public
    code: ``torch.split(x, K, dim=1)`` concatenated on the feature axis).
    """
    n, channels = vector.shape
    node_channels = channels // num_nodes
    if node_order == 'contiguous':
        return vector.reshape(n, num_nodes, node_channels)
    return vector.reshape(n, node_channels, num_nodes).transpose(1, 2)


def nodes_to_vector(nodes: torch.Tensor) -> torch.Tensor:
    """Merge (N, K, d) node features node-major into (N, K * d) vectors.

    For ``'contiguous'`` nodes this inverts :func:`vector_to_nodes`. For
    ``'strided'`` nodes it is what the public code does: the value reasoned
    from channel ``j*K + k`` comes back on channel ``k*d + j``.
    """
    return nodes.flatten(1)  # reshape(n, -1) fails for batch 0
