"""Activation checkpointing with mmcv's ``with_cp`` meaning: a part of the
forward keeps only its inputs for the backward, which runs it again."""
import contextlib
from functools import partial
from typing import Callable

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from ._tracing import compiling, exporting

RUNNING_STATS = ('running_mean', 'running_var', 'num_batches_tracked')


class RunningStatsFrozen:
    """While entered, the BatchNorm layers of ``module`` in training mode
    normalise with the batch statistics as usual, but their updates of the
    running statistics (and ``num_batches_tracked``) go to copies, dropped
    on exit. The layers run as they did in the forward (the checkpoint
    checks that the recomputation saves the same tensors).

    It can be entered again after each exit: torch enters the
    recomputation context once per recomputation, so twice for a second
    backward through the same graph (``retain_graph``, double backward).
    """

    def __init__(self, module: nn.Module):
        self.module = module
        self.saved = []

    def __enter__(self) -> None:
        self.saved = [(norm, name, getattr(norm, name))
                      for norm in self.module.modules()
                      if isinstance(norm, _BatchNorm) and norm.training
                      and norm.track_running_stats for name in RUNNING_STATS
                      if getattr(norm, name) is not None]
        for norm, name, buffer in self.saved:
            setattr(norm, name, buffer.clone())

    def __exit__(self, *exc_info) -> bool:
        for norm, name, buffer in self.saved:
            setattr(norm, name, buffer)
        self.saved = []
        return False


def _forward_and_recompute_contexts(module: nn.Module):
    return contextlib.nullcontext(), RunningStatsFrozen(module)


def checkpointed(module: nn.Module, function: Callable, *args):
    """``function(*args)`` under ``torch.utils.checkpoint`` when a backward
    can follow (grad enabled, not traced or exported), else plainly.

    The checkpoint is non-reentrant: parameters get their gradients also
    when no input requires grad (a frozen backbone), and the RNG state is
    restored for the recomputation, so dropout draws the same mask. The
    recomputation runs with the running statistics of ``module``'s
    BatchNorm layers frozen: torch's checkpoint, and mmcv's ``with_cp``
    bottlenecks, would update them a second time per step.

    Args:
        module (nn.Module): the module ``function`` runs (for its norms).
        function (callable): the part of the forward to checkpoint.
        *args: its inputs.
    """
    if not torch.is_grad_enabled() or exporting():
        return function(*args)
    if compiling():
        # AOT autograd recomputes from the functionalised graph, whose
        # BatchNorm statistics are written once; swapping them as below
        # would be traced into the graph as a second, in-place update
        return checkpoint(function, *args, use_reentrant=False)
    return checkpoint(
        function,
        *args,
        use_reentrant=False,
        context_fn=partial(_forward_and_recompute_contexts, module))
