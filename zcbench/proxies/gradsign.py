"""``gradsign``: GradSign (Zhang & Jia, ICLR 2022).

Authors' code: ``cmu-catalyst/GradSign`` (commit 26412be), ``zero-cost-nas-code/foresight/pruners/measures/
grad_conflict.py`` (their Spearman experiments, run inside Samsung's zero-cost-nas with ``build.py``: batch
128, one random batch, seed 42, PyTorch's default init, BN on, train mode). For each sample i of the
minibatch *alone*: ``net.zero_grad()``, forward of ``inputs[[i]]``, ``loss_fn`` (cross-entropy), backward;
the weight gradients of every Conv2d and Linear (in ``modules()`` order; zeros where a layer has none) are
flattened and concatenated into g_i. score = ``np.nansum(|Σ_i sign(g_i)|)``: per weight, how many more
samples agree on the gradient's sign than disagree. Higher is better.

Details of the code that zcbench follows: each sample goes through the network alone, so BatchNorm
normalises with that one sample's statistics; only Conv2d/Linear weights count (not biases or BN). The
AZ-NAS repository's port takes ``np.nanmean`` instead of ``np.nansum`` (a division by the number of
weights, which changes the ranking); zcbench follows GradSign's own code. The sign sums are exact
integers and are totalled in float64 here (the reference's float32 ``nansum`` rounds past 2^24).
"""

from __future__ import annotations

import torch
from torch import nn

from ._per_sample import param_index, sample_gradients
from .base import ProxyContext, register_proxy
from .utils import require_targets


class GradSignSums:
    """Σ_i sign(g_i) per Conv2d/Linear weight, accumulated on the device sample by sample."""

    def __init__(self, net: nn.Module) -> None:
        index = param_index(net)
        layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        self.positions = [index.get(id(m.weight)) for m in layers]
        self.sums: list[torch.Tensor | None] = [None] * len(layers)

    def add(self, grads) -> None:
        for j, k in enumerate(self.positions):
            g = grads[k] if k is not None else None
            if g is None:
                continue  # the reference's zeros: sign 0
            s = torch.sign(g)
            self.sums[j] = s if self.sums[j] is None else self.sums[j] + s

    def score(self) -> float:
        """Σ over weights of |Σ_i sign|, NaN weights skipped (``np.nansum``); one read from the device."""
        parts = [torch.nansum(s.abs().double()) for s in self.sums if s is not None]
        if not parts:
            raise ValueError("gradsign: no Conv2d/Linear weight has a gradient")
        return float(torch.stack(parts).sum().item())


@register_proxy("gradsign", labels=True, grad=True, paper="Zhang & Jia, ICLR 2022 (GradSign)")
def gradsign(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ over Conv2d/Linear weights of |Σ_samples sign(∂L_i/∂w)|, each sample's loss taken alone."""
    x, _ = require_targets(ctx)
    sums = GradSignSums(net)
    for grads in sample_gradients(net, ctx, len(x)):
        sums.add(grads)
    return sums.score()
