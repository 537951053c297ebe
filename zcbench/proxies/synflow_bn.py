"""``synflow_bn``: SynFlow with BatchNorm kept (Samsung ``measures/synflow.py``, ``@measure('synflow_bn',
bn=True)``; Abdelfattah et al., ICLR 2021).

As ``synflow`` (|θ| for every state entry, float64, all-ones input of shape [1, C, H, W], R = Σ output,
score = Σ over Conv2d/Linear of |θ ⊙ ∂R/∂θ|) but BN layers stay, in train mode (batch statistics of the
single all-ones sample). Data-free.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import prunable_layers, sum_arr


def synflow_arrays(net: nn.Module, input_shape: tuple[int, ...], device: torch.device) -> list[torch.Tensor]:
    """Per-layer |θ ⊙ ∂R/∂θ| of Samsung's synflow on ``net`` as given (BN as it is)."""
    with torch.no_grad():
        for t in net.state_dict().values():
            t.abs_()
    net.zero_grad()
    net.double()
    net.train()
    out = net(torch.ones((1, *input_shape), dtype=torch.float64, device=device))
    torch.sum(out).backward()
    return [
        torch.abs(m.weight * m.weight.grad) if m.weight.grad is not None else torch.zeros_like(m.weight)
        for m in prunable_layers(net)
    ]


@register_proxy(
    "synflow_bn",
    images=False,
    grad=True,
    float64=True,
    splits=False,
    paper="Abdelfattah et al., ICLR 2021 (zero-cost-nas)",
)
def synflow_bn(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ|θ ⊙ ∂R/∂θ| with |θ|, float64, all-ones input, BN kept (train mode)."""
    return sum_arr(t.detach() for t in synflow_arrays(net, ctx.input_shape, ctx.device))
