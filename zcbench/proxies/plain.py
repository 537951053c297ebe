"""``plain``: Σ W ⊙ ∂L/∂W over Conv2d/Linear weights, signed (Mozer & Smolensky 1989 as listed by
Abdelfattah et al., ICLR 2021; NASLib ``measures/plain.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import loss_weight_grads, prunable_layers, sum_arr


def plain_from(layers: Sequence[nn.Module], grads: Sequence[torch.Tensor | None]) -> float:
    return sum_arr(
        g * m.weight.detach() if g is not None else torch.zeros_like(m.weight) for m, g in zip(layers, grads)
    )


@register_proxy("plain", labels=True, grad=True, paper="Abdelfattah et al., ICLR 2021 (zero-cost-nas)")
def plain(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ W ⊙ ∂L/∂W (signed)."""
    grads = loss_weight_grads(net, ctx)
    return plain_from(prunable_layers(net), grads)
