"""``snip``: connection sensitivity Σ|∂L/∂m| with a multiplicative mask m = 1 on every Conv2d/Linear
weight (Lee et al., ICLR 2019; zero-cost use: Abdelfattah et al., ICLR 2021).

Samsung's code makes the mask a parameter and reads ``|mask.grad|``. With m = 1 the forward uses
W·1 = W and autograd computes ∂L/∂m = (∂L/∂(W·m))·W, i.e. exactly the elementwise product
``grad * W`` of the ordinary weight gradient, which is what is computed here (this lets one backward
serve grad_norm, snip, plain and fisher; ``tests/test_proxies_hand.py`` checks it against the mask form).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import loss_weight_grads, prunable_layers, sum_arr


def snip_from(layers: Sequence[nn.Module], grads: Sequence[torch.Tensor | None]) -> float:
    return sum_arr(
        torch.abs(g * m.weight.detach()) if g is not None else torch.zeros_like(m.weight) for m, g in zip(layers, grads)
    )


@register_proxy("snip", labels=True, grad=True, paper="Lee et al., ICLR 2019; Abdelfattah et al., ICLR 2021")
def snip(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ|W ⊙ ∂L/∂W| (= Σ|∂L/∂mask| at mask = 1)."""
    grads = loss_weight_grads(net, ctx)
    return snip_from(prunable_layers(net), grads)
