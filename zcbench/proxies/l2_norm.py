"""``l2_norm``: Σ over Conv2d/Linear layers of ‖W‖₂ at initialisation (NASLib ``measures/l2_norm.py``,
NAS-Bench-Suite-Zero). Data-free."""

from __future__ import annotations

from torch import nn

from .base import ProxyContext, register_proxy
from .utils import prunable_layers, sum_arr


@register_proxy(
    "l2_norm", images=False, splits=False, paper="Krishnakumar et al., NeurIPS 2022 D&B (NAS-Bench-Suite-Zero)"
)
def l2_norm(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ per-layer ‖W‖ of the initial weights."""
    return sum_arr(m.weight.detach().norm() for m in prunable_layers(net))
