"""``nwot``: NASWOT (Mellor et al., ICML 2021, v2 of arXiv 2006.04647), NASLib ``measures/nwot.py``.

Forward hooks on every module whose type name contains ``ReLU`` binarise its *input* per sample,
c = 1[x > 0] (flattened), and accumulate K += c·cᵀ + (1−c)·(1−c)ᵀ (agreements of the binary codes);
score = log|det K| (``slogdet``). One forward of the minibatch, BN on, train mode.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import HookRecorder, relu_modules, require_inputs


class NwotRecorder(HookRecorder):
    """Accumulates the NASWOT kernel over ReLU inputs while installed (float64, exact integer counts), on
    the minibatch's device: the host reads it once, in :meth:`score`."""

    def __init__(self, net: nn.Module, batch: int, device: torch.device | str = "cpu") -> None:
        self.modules = relu_modules(net)
        self.K = torch.zeros((batch, batch), dtype=torch.float64, device=device)

    def _hook(self, module, inp, out) -> None:
        with torch.no_grad():
            a = inp[0].reshape(inp[0].size(0), -1)
            c = (a > 0).float()
            k1 = c @ c.t()
            k2 = (1.0 - c) @ (1.0 - c.t())
            self.K += k1.double()
            self.K += k2.double()

    def _hooked(self):
        return [(m, self._hook) for m in self.modules]

    def score(self) -> float:
        return nwot_from(self.K)


def nwot_from(K: torch.Tensor) -> float:
    _, logdet = np.linalg.slogdet(K.cpu().numpy())
    return float(logdet)


@register_proxy("nwot", splits=False, paper="Mellor et al., ICML 2021 (NASWOT)")
def nwot(net: nn.Module, ctx: ProxyContext) -> float:
    """log|det K| of the binary ReLU-code agreement kernel of the minibatch."""
    x, _ = require_inputs(ctx)
    net.train()
    rec = NwotRecorder(net, len(x), x.device)
    with rec, torch.no_grad():
        net(x)
    return rec.score()
