"""``params``: trainable parameter count in millions, as the benchmarks report it."""

from __future__ import annotations

from torch import nn

from .base import ProxyContext, register_proxy


def count_params(net: nn.Module) -> int:
    """All parameters, as xautodl's ``count_parameters_in_MB`` and NB101's ``trainable_parameters``
    count them (networks built for scoring carry no auxiliary head)."""
    return sum(p.numel() for name, p in net.named_parameters() if "auxiliary" not in name)


@register_proxy("params", images=False, splits=False, paper="(baseline) parameter count; NB201/NB101 dumps report it")
def params(net: nn.Module, ctx: ProxyContext) -> float:
    """Parameter count in millions."""
    return count_params(net) / 1e6
