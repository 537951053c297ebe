"""Seeded Kaiming re-initialisations used by the TE-NAS and AZ-NAS proxies.

Both authors' codes re-initialise the network before scoring with ``model.apply(init_fn)`` on the global
RNG: Conv2d/Linear weights ``kaiming_normal_`` (``nonlinearity='relu'``, fan-in or fan-out), biases 0,
BatchNorm weight 1 and bias 0. ``apply`` visits modules children-first, but only leaf modules draw, and
their relative order is the same as in ``net.modules()``, so drawing here in ``modules()`` order from a
generator seeded with ``seed`` gives exactly the authors' weights after ``torch.manual_seed(seed)``.
Draws are made on the CPU (device-independent values) and copied.
"""

from __future__ import annotations

import torch
from torch import nn

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)


@torch.no_grad()
def kaiming_normal_(net: nn.Module, mode: str, generator: torch.Generator) -> nn.Module:
    """Kaiming-normal (``mode`` fan_in or fan_out, ReLU gain) Conv2d/Linear weights, zero biases, norms (1, 0).
    Affine-free norms are left alone (TE-NAS's init would fail on them; AZ-NAS's skips them)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = torch.empty(m.weight.shape, dtype=m.weight.dtype)
            nn.init.kaiming_normal_(w, mode=mode, nonlinearity="relu", generator=generator)
            m.weight.copy_(w)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, _NORMS) and m.weight is not None:
            m.weight.fill_(1.0)
            m.bias.zero_()
    return net
