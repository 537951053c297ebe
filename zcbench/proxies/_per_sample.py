"""Per-sample loss gradients, one forward of one sample at a time (GradSign's and KNAS's loop).

Both authors' codes take each sample alone through the network in train mode (GradSign: ``net(inputs[[i]])``
per sample; KNAS: a data loader of batch size 1) and back-propagate its loss; BatchNorm therefore sees
one sample. The gradients of all parameters are taken with ``autograd.grad`` (None for a parameter the
loss does not reach, where the reference's ``.grad`` stays None); nothing is read from the device here.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import autograd, nn

from .utils import require_targets


def sample_gradients(net: nn.Module, ctx, count: int) -> Iterator[tuple[torch.Tensor | None, ...]]:
    """For each of the first ``count`` samples of the minibatch: the gradients of its loss w.r.t.
    ``list(net.parameters())``."""
    x, t = require_targets(ctx)
    if count > len(x):
        raise ValueError(f"{count} samples needed, the minibatch has {len(x)}")
    params = [p for p in net.parameters() if p.requires_grad]
    net.train()
    for i in range(count):
        loss = ctx.loss_fn(net(x[i : i + 1]), t[i : i + 1])
        yield autograd.grad(loss, params, allow_unused=True)


def param_index(net: nn.Module) -> dict[int, int]:
    """id(parameter) -> its position among the parameters ``sample_gradients`` differentiates."""
    return {id(p): k for k, p in enumerate(p for p in net.parameters() if p.requires_grad)}
