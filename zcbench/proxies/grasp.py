"""``grasp``: −Σ W ⊙ (H g) over Conv2d/Linear weights (Wang et al., ICLR 2020; zero-cost use:
Abdelfattah et al., ICLR 2021).

Samsung ``measures/grasp.py`` with T = 1 and one iteration: pass 1 takes g = ∂L/∂W (accumulated over the
split pieces, ``autograd.grad``); pass 2 recomputes ∂L/∂W with ``create_graph``, forms z = Σ g·∂L/∂W and
back-propagates z, which leaves H g in ``W.grad``; the score is −Σ W ⊙ H g.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import autograd, nn

from .base import ProxyContext, register_proxy
from .utils import prunable_layers, require_targets, split_ranges, sum_arr


def grasp_from(layers: Sequence[nn.Module], hg: Sequence[torch.Tensor | None]) -> float:
    return sum_arr(-m.weight.detach() * h if h is not None else torch.zeros_like(m.weight) for m, h in zip(layers, hg))


def grasp_z(grad_w: Sequence[torch.Tensor | None], grad_f: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """z = Σ_layers (g_w · ∂L/∂W).sum() in the reference order (layers without g_w skipped)."""
    z: torch.Tensor | int = 0
    for gw, gf in zip(grad_w, grad_f):
        if gw is not None and gf is not None:
            z = z + (gw.detach() * gf).sum()
    if not isinstance(z, torch.Tensor):
        raise ValueError("grasp: no Conv2d/Linear weight received a gradient")
    return z


@register_proxy("grasp", labels=True, grad=True, paper="Wang et al., ICLR 2020; Abdelfattah et al., ICLR 2021")
def grasp(net: nn.Module, ctx: ProxyContext, T: float = 1.0) -> float:
    """−Σ W ⊙ Hg (Hessian-gradient product), T = 1, one iteration."""
    x, t = require_targets(ctx)
    net.train()
    layers = prunable_layers(net)
    weights = [m.weight for m in layers]
    for w in weights:
        w.requires_grad_(True)
    net.zero_grad()
    pieces = split_ranges(len(x), ctx.split_data)
    # As the reference: ``grad_w`` is reset for every piece, so after a split it holds the last
    # piece's gradient (only reachable after a CUDA OOM; identical to the unsplit pass otherwise).
    grad_w: list[torch.Tensor | None] = []
    for st, en in pieces:
        loss = ctx.loss_fn(net(x[st:en]) / T, t[st:en])
        grad_w = list(autograd.grad(loss, weights, allow_unused=True))
    for st, en in pieces:
        loss = ctx.loss_fn(net(x[st:en]) / T, t[st:en])
        grad_f = autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        grasp_z(grad_w, grad_f).backward()
    return grasp_from(layers, [w.grad for w in weights])
