"""``grad_norm``: Σ over Conv2d/Linear layers of ‖∂L/∂W‖₂ (Abdelfattah et al., ICLR 2021).

Samsung ``measures/grad_norm.py``: BN on, train mode, one loss forward/backward on the minibatch
(gradients accumulated over ``split_data`` pieces), per-layer Frobenius norm of the weight gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import loss_weight_grads, prunable_layers, sum_arr


def grad_norm_from(layers: Sequence[nn.Module], grads: Sequence[torch.Tensor | None]) -> float:
    """Score from the weight gradients (shared with the runner's one-pass computation)."""
    return sum_arr(g.norm() if g is not None else torch.zeros_like(m.weight) for m, g in zip(layers, grads))


@register_proxy("grad_norm", labels=True, grad=True, paper="Abdelfattah et al., ICLR 2021 (zero-cost-nas)")
def grad_norm(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ per-layer ‖∂L/∂W‖ over Conv2d/Linear weights."""
    grads = loss_weight_grads(net, ctx)
    return grad_norm_from(prunable_layers(net), grads)
