"""``fisher``: channel-wise Fisher information of the Conv2d/Linear outputs (Theis et al. 2018; Turner et
al., BlockSwap 2020; zero-cost use: Abdelfattah et al., ICLR 2021).

Samsung ``measures/fisher.py`` ('channel' mode): for each Conv2d/Linear output a (activation) and its loss
gradient g, per call ``del_k = ½·mean_n (Σ_spatial a·g)²`` per output channel k, summed over the split
pieces; the per-channel value |del_k| is broadcast over the channel's ``weight.shape[1:]`` and summed over
layers. Samsung intercepts a and g with an identity "dummy" module after the layer; here a forward hook
on the layer registers a tensor hook on its output, which sees the same (a, g) pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import HookRecorder, prunable_layers, require_targets, split_ranges, sum_arr


class FisherRecorder(HookRecorder):
    """Accumulates ``del_k`` per layer while ``active``; install with ``with recorder.installed(net):``."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        self.layers = list(layers)
        self.fisher: dict[int, torch.Tensor] = {}
        self.active = True

    def _accumulate(self, idx: int, act: torch.Tensor, grad: torch.Tensor) -> None:
        if not self.active:
            return
        grad = grad.detach()
        g_nk = torch.sum(act * grad, list(range(2, act.dim()))) if act.dim() > 2 else act * grad
        del_k = g_nk.pow(2).mean(0).mul(0.5)
        self.fisher[idx] = del_k if idx not in self.fisher else self.fisher[idx] + del_k

    def _forward_hook(self, idx: int):
        def hook(module, inp, out):
            if isinstance(out, torch.Tensor) and out.requires_grad:
                act = out.detach()
                out.register_hook(lambda g, _a=act, _i=idx: self._accumulate(_i, _a, g))

        return hook

    def _hooked(self):
        return [(m, self._forward_hook(i)) for i, m in enumerate(self.layers)]

    def score(self) -> float:
        """Σ_layers Σ_k |del_k| · prod(weight.shape[1:]) (Samsung's broadcast then ``sum_arr``)."""
        arrays = []
        for i, m in enumerate(self.layers):
            per_ch = (
                self.fisher[i].abs() if i in self.fisher else torch.zeros(m.weight.shape[0], device=m.weight.device)
            )
            per_w = math.prod(m.weight.shape[1:]) if m.weight.dim() > 1 else 1  # no tensor: no host sync
            arrays.append(per_ch.reshape(-1, 1).expand(-1, per_w))
        return sum_arr(arrays)


@register_proxy(
    "fisher", labels=True, grad=True, paper="Turner et al., ICLR 2020 (BlockSwap); Abdelfattah et al., ICLR 2021"
)
def fisher(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ channel Fisher ½·mean_n(Σ a·∂L/∂a)² over Conv2d/Linear outputs, broadcast to the weights."""
    x, t = require_targets(ctx)
    net.train()
    rec = FisherRecorder(prunable_layers(net))
    with rec:
        for st, en in split_ranges(len(x), ctx.split_data):
            net.zero_grad()
            loss = ctx.loss_fn(net(x[st:en]), t[st:en])
            loss.backward()
    return rec.score()
