"""``zico``: ZiCo (Li et al., ICLR 2023), ``SLDGroup/ZiCo ZeroShotProxy/compute_zico.py``.

The official ``getzico`` loops over a data loader, calling ``backward`` once per batch *without*
``zero_grad`` in between (so batch i records the gradient accumulated over batches 0..i), storing each
Conv2d/Linear weight gradient. Here the loader is the minibatch cut into ``zico_splits`` (2, as the MeCo
repository's port ``measures/zico.py`` does) equal pieces. Per layer, with the recorded gradients
stacked (pieces × weights): σ = std over pieces (population), μ = mean |g|; over the weights with σ ≠ 0,
s = Σ μ/σ; score = Σ_layers log s (layers with s = 0 skipped). Train mode, BN on, ``ctx.loss_fn``.
After a CUDA OOM each piece is further cut into ``split_data`` sub-pieces whose gradients accumulate.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .base import Option, ProxyContext, register_proxy
from .utils import require_targets, split_ranges


def zico_from(grad_dict: dict[str, list[np.ndarray]]) -> float:
    """Official ``caculate_zico`` on {layer: [flattened gradient per piece]}."""
    total = 0.0
    for grads in grad_dict.values():
        arr = np.array(grads)
        std = np.std(arr, axis=0)
        nz = np.nonzero(std)[0]
        mean_abs = np.mean(np.abs(arr), axis=0)
        tmpsum = np.sum(mean_abs[nz] / std[nz])
        if tmpsum != 0:
            total += np.log(tmpsum)
    return float(total)


@register_proxy(
    "zico",
    labels=True,
    grad=True,
    options={"zico_splits": Option(int, 2, minimum=2, doc="minibatch pieces the gradient statistics use")},
    paper="Li et al., ICLR 2023 (ZiCo)",
)
def zico(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ_layers log Σ mean|g|/std(g) over minibatch pieces (gradients accumulated as the official code)."""
    x, t = require_targets(ctx)
    pieces = int(ctx.options.get("zico_splits", 2))
    if len(x) < pieces or pieces < 2:
        raise ValueError(f"zico needs at least 2 pieces of the minibatch (batch {len(x)}, zico_splits {pieces})")
    net.train()
    net.zero_grad()
    named = [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    recorded: list[tuple[str, torch.Tensor]] = []  # (layer, gradient after a piece), kept on the device
    for st, en in split_ranges(len(x), pieces):
        xs, ts = x[st:en], t[st:en]
        for a, b in split_ranges(len(xs), ctx.split_data):
            ctx.loss_fn(net(xs[a:b]), ts[a:b]).backward()
        recorded += [(name, m.weight.grad.detach().clone()) for name, m in named if m.weight.grad is not None]
    return zico_from(host_gradients(recorded))


def host_gradients(recorded: list[tuple[str, torch.Tensor]]) -> dict[str, list[np.ndarray]]:
    """{layer: [flattened gradient per piece]} as numpy arrays, moved to the host with one copy."""
    grad_dict: dict[str, list[np.ndarray]] = {}
    if len({g.dtype for _, g in recorded}) > 1:  # a cat would promote: one copy per gradient
        for name, g in recorded:
            grad_dict.setdefault(name, []).append(g.cpu().reshape(-1).numpy())
        return grad_dict
    flat = torch.cat([g.reshape(-1) for _, g in recorded]).cpu().numpy() if recorded else None
    start = 0
    for name, g in recorded:
        grad_dict.setdefault(name, []).append(flat[start : start + g.numel()])
        start += g.numel()
    return grad_dict
