"""``synflow``: Synaptic Flow (Tanaka et al., NeurIPS 2020) as used by Abdelfattah et al. (ICLR 2021).

Definition (Samsung ``foresight/pruners/measures/synflow.py``): on a copy of the network with
BatchNorm bypassed, take |θ| for every parameter and buffer, cast to float64, feed an all-ones input
of shape [1, C, H, W], R = Σ output, and score = Σ over Conv2d/Linear weights of |θ ⊙ ∂R/∂θ|.
The raw value is returned (NASLib logs it; protocols that compare to NASLib say so).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import bypass_batchnorm, prunable_layers


def synflow_score(net: nn.Module, input_shape: tuple[int, ...], device: torch.device) -> float:
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.abs_()
    net = net.double()
    net.zero_grad()
    out = net(torch.ones((1, *input_shape), dtype=torch.float64, device=device))
    torch.sum(out).backward()
    with torch.no_grad():
        total = torch.zeros((), dtype=torch.float64, device=device)
        for layer in prunable_layers(net):  # the weights the Samsung measures sum over (biases excluded)
            w = layer.weight
            if w.grad is not None:
                total += (w * w.grad).abs().sum()
    return float(total)


@register_proxy(
    "synflow",
    images=False,
    grad=True,
    float64=True,
    splits=False,
    paper="Tanaka et al., NeurIPS 2020; zero-cost use: Abdelfattah et al., ICLR 2021",
)
def synflow(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ|θ ⊙ ∂R/∂θ| with BN bypassed, |θ|, float64, all-ones input (raw, not logged)."""
    return synflow_score(bypass_batchnorm(net), ctx.input_shape, ctx.device)
