"""``knas``: KNAS's MGM score (Xu et al., "KNAS: Green Neural Architecture Search", ICML 2021).

Authors' code: ``Jingjing-NLP/KNAS`` (commit 5fbb0fe), ``exps/NAS-Bench-201/functions.py procedure`` as
``main.py`` runs it on NAS-Bench-201 (``configs/nas-benchmark/CIFAR.config``: batch size **1**; PyTorch's
default init after ``prepare_seed``; train mode; cross-entropy; no optimiser step). For each of the first
50 samples, one at a time: forward, loss, backward. From each, for the first 11 parameters in
``named_parameters()`` order that have a gradient and at least 50 entries, the first 100 gradient entries
are kept. After the 50th sample, for each kept parameter and each of its first 50 entries e, with a = e's
values on samples 0–24 and b on samples 25–49, both centred: MGM += a·b / 2500. Higher is better.

Where the code differs from the paper: the paper's MGM is the mean of the Gram matrix of the samples'
gradients; the code, which zcbench follows, sums the covariance between the two halves of 50
single-sample gradients over 11 × 50 of the weights. The code keeps each gradient
with ``copy.copy`` of a view, which shares the gradient's memory: with ``zero_grad`` zeroing in place
(PyTorch < 2.0) every kept vector would alias the last sample's gradient and the score would be 0; with
``zero_grad(set_to_none=True)`` (PyTorch ≥ 2.0, where the reference values here were produced) each
sample's gradient is a fresh tensor and the score is the covariance above.

``knas_samples`` is how many samples are used: by default the code's 50, or the whole minibatch when it
holds fewer (the code then never reaches its 50th batch and returns nothing); a value larger than the
minibatch is NaN with the reason. With n samples the halves are the first ⌊n/2⌋ and the next ⌊n/2⌋ and
the divisor is (2⌊n/2⌋)² (2500 for 50).
"""

from __future__ import annotations

import torch
from torch import nn

from ._per_sample import sample_gradients
from .base import Option, ProxyContext, register_proxy
from .utils import require_targets

PARAMS = 11  # ``if index_name > 10: break``
MIN_ENTRIES = 50  # ``if len(param.grad.view(-1).data[0:100]) < 50: continue``
ENTRIES = 50  # ``for i in range(50)`` over the (up to 100) kept entries
SAMPLES = 50  # ``if len(grads[index_grad]) == 50``
KNAS_OPTIONS = {
    "knas_samples": Option(
        int, None, minimum=2, doc="single-sample gradients used (default: the code's 50, or the minibatch if smaller)"
    )
}


def knas_samples(ctx: ProxyContext, batch: int) -> int:
    """``knas_samples``, else 50, else (a smaller minibatch) all of it."""
    n = ctx.options.get("knas_samples")
    return int(n) if n is not None else min(SAMPLES, batch)


class KnasGradients:
    """The first entries of the chosen parameters' gradients, sample by sample, kept on the device."""

    def __init__(self, net: nn.Module, samples: int) -> None:
        self.names = [n for n, p in net.named_parameters() if p.requires_grad]
        self.samples = samples
        self.chosen: list[int] | None = None  # positions of the kept parameters, fixed by the first sample
        self.rows: list[torch.Tensor] = []

    def _choose(self, grads) -> list[int]:
        chosen: list[int] = []
        for k, g in enumerate(grads):
            if g is None:
                continue
            if len(chosen) == PARAMS:
                break
            if g.numel() >= MIN_ENTRIES:
                chosen.append(k)
        if not chosen:
            raise ValueError("knas: no parameter with a gradient of at least 50 entries")
        return chosen

    def add(self, grads) -> None:
        if self.chosen is None:
            self.chosen = self._choose(grads)
        self.rows.append(torch.stack([grads[k].reshape(-1)[:ENTRIES] for k in self.chosen]))

    def score(self) -> float:
        """Σ over kept parameters and entries of the centred cross-product of the two halves / n²."""
        if len(self.rows) != self.samples:
            raise ValueError(f"knas needs {self.samples} single-sample gradients, got {len(self.rows)}")
        h = self.samples // 2
        g = torch.stack(self.rows)  # (samples, params, entries)
        a = g[:h] - g[:h].mean(0, keepdim=True)
        b = g[h : 2 * h] - g[h : 2 * h].mean(0, keepdim=True)
        terms = (a * b).sum(0) / float((2 * h) ** 2)  # (params, entries), the reference's order when flattened
        return float(torch.cumsum(terms.reshape(-1), 0)[-1].item())  # its running float32 sum


@register_proxy("knas", labels=True, grad=True, options=KNAS_OPTIONS, paper="Xu et al., ICML 2021 (KNAS, MGM)")
def knas(net: nn.Module, ctx: ProxyContext) -> float:
    """Covariance of single-sample gradients between two halves of 50 samples, on 11 × 50 weights."""
    x, _ = require_targets(ctx)
    n = knas_samples(ctx, len(x))
    if n < 2:
        raise ValueError(f"knas needs at least 2 samples (two halves), the minibatch has {len(x)}")
    acc = KnasGradients(net, n)
    for grads in sample_gradients(net, ctx, n):
        acc.add(grads)
    return acc.score()
