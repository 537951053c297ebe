"""TE-NAS (Chen, Gong & Wang, ICLR 2021): the NTK condition number, the number of linear regions, and
their rank aggregate.

Authors' code: ``VITA-Group/TENAS`` (commit 9df78ff).

* ``ntk_cond`` — ``lib/procedures/ntk.py get_ntk_n``: train mode, one forward of the minibatch, then for
  each sample i the backward of ``logit[i:i+1]`` with a cotangent of ones (``retain_graph``); the gradient
  of every parameter whose name contains ``weight`` (convolutions, BatchNorm and linear weights) is
  flattened and concatenated; NTK = G Gᵀ; κ = λ_max / λ_min of its eigenvalues (``symeig``, ascending;
  ``torch.linalg.eigh`` here, its successor), ``np.nan_to_num(κ, nan=100000.0)`` (so +∞ becomes the
  largest float). Lower is better. Before it, ``prune_tenas.py`` re-initialises the network
  Kaiming-normal **fan-out** (ReLU gain, zero biases, BN (1, 0)): so does zcbench, from a generator
  seeded with the run's seed. TE-NAS used batch 72 on NAS-Bench-201 (``prune_launch.py``); the AZ-NAS
  port, 64 (zcbench's default); here the run's minibatch.
* ``linear_regions`` — ``lib/procedures/linear_region_counter.py``: forward hooks on every ``nn.ReLU``
  whose input is 4-D keep its output; per sample the outputs are flattened and concatenated, their signs
  taken, and ``LinearRegionCount.calc_LR`` counts the distinct sign patterns among the samples
  (Σ_i 1/#{j: pattern_j = pattern_i}). The network is re-initialised Kaiming-normal **fan-in** first,
  as ``prune_tenas.py`` does for it. TE-NAS's counter belongs to its pruning search: it feeds 3×3
  single-channel crops to a one-channel, one-cell, stem-less supernet. A per-architecture score has to
  feed the network its own input shape; zcbench does what the per-architecture ports do (ZenNAS's and
  AZ-NAS's ``compute_te_nas_score.py``, ``compute_RN_score``): one batch of N(0, 1) inputs of the data's
  shape, ``lr_batch`` of them (default: the run's batch size; the ports use 64). Higher is better.
  The pairwise counting is done block by block (one hooked ReLU at a time, no concatenated copy) and in
  float32 rather than half precision: only whether a count is 0 matters, so the result is the same.

``te_nas`` has no per-architecture value: over the architectures compared, rank(−κ) + rank(#regions)
(``zcbench.aggregates``), computed by the tables from the two stored components — as the AZ-NAS
notebook does for its TE-NAS baseline, and as ``prune_tenas.py`` ranks candidate operators.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..aggregates import TE_NAS_INPUTS
from ._reinit import kaiming_normal_
from .base import Option, ProxyContext, register_proxy
from .utils import HookRecorder, randn, require_inputs, seeded_generator, split_ranges

NAN_COND = 100000.0  # TE-NAS's np.nan_to_num(..., nan=100000.0)
NTK_CHUNK = 8  # per-sample cotangents in one batched backward (bounds its memory)


def weight_params(net: nn.Module) -> list[nn.Parameter]:
    """TE-NAS's parameters: every ``named_parameters()`` entry whose name contains ``weight``."""
    return [w for name, w in net.named_parameters() if "weight" in name and w.requires_grad]


def ntk_gradients(net: nn.Module, x: torch.Tensor, split_data: int = 1) -> torch.Tensor:
    """(samples × weights) gradients of each sample's summed logits, as ``get_ntk_n`` collects them
    (a forward per split piece after a CUDA OOM; one forward of the whole minibatch otherwise).

    The reference runs one backward per sample; here the per-sample cotangents (ones on sample i's
    logits) go through one batched backward (``is_grads_batched``), ``NTK_CHUNK`` samples at a time, which
    gives the same gradients (checked against the reference in the tests) in a fraction of the time."""
    params = weight_params(net)
    rows: list[torch.Tensor] = []
    for st, en in split_ranges(len(x), split_data):
        logit = net(x[st:en])
        if isinstance(logit, tuple):
            logit = logit[1]
        n = len(logit)
        for a in range(0, n, NTK_CHUNK):
            b = min(n, a + NTK_CHUNK)
            cot = torch.zeros((b - a, *logit.shape), dtype=logit.dtype, device=logit.device)
            cot[torch.arange(b - a), torch.arange(a, b)] = 1.0
            grads = torch.autograd.grad(logit, params, cot, retain_graph=True, allow_unused=True, is_grads_batched=True)
            rows.append(torch.cat([g.reshape(b - a, -1) for g in grads if g is not None], 1))
        del logit
    return torch.cat(rows, 0)


def condition_number(grads: torch.Tensor) -> float:
    """λ_max/λ_min of G Gᵀ, NaN replaced as TE-NAS does (one read from the device)."""
    ntk = torch.einsum("nc,mc->nm", grads, grads)
    eigenvalues = torch.linalg.eigh(ntk)[0]  # ascending
    return float(np.nan_to_num((eigenvalues[-1] / eigenvalues[0]).item(), copy=True, nan=NAN_COND))


@register_proxy("ntk_cond", grad=True, paper="Chen, Gong & Wang, ICLR 2021 (TE-NAS; NTK condition number)")
def ntk_cond(net: nn.Module, ctx: ProxyContext) -> float:
    """Condition number of the empirical NTK of the summed logits (Kaiming fan-out init); lower is better."""
    x, _ = require_inputs(ctx)
    kaiming_normal_(net, "fan_out", seeded_generator(ctx.seed))
    net.train()
    net.zero_grad()
    return condition_number(ntk_gradients(net, x, ctx.split_data))


class RegionCounter(HookRecorder):
    """Pairwise "different sign pattern" counts of the samples, accumulated over ReLU output blocks
    while installed; ``count()`` is TE-NAS's ``calc_LR``."""

    def __init__(self, net: nn.Module) -> None:
        self.modules = [m for m in net.modules() if isinstance(m, nn.ReLU)]
        self.outputs: list[torch.Tensor] = []

    def _hook(self, module, inp, out) -> None:
        if isinstance(inp, tuple) and inp[0].dim() == 4:
            self.outputs.append(out.detach())  # kept as the reference keeps them, read after the forward

    def _hooked(self) -> list:
        return [(m, self._hook) for m in self.modules]

    def count(self) -> float:
        if not self.outputs:
            raise ValueError("linear_regions: the network has no nn.ReLU with a 4-D input")
        n = self.outputs[0].size(0)
        differ = torch.zeros((n, n), dtype=torch.float32, device=self.outputs[0].device)
        bad = torch.zeros((), dtype=torch.bool, device=differ.device)
        for out in self.outputs:
            s = torch.sign(out.reshape(n, -1).float())
            bad = bad | torch.isnan(s).any()
            differ += s @ (1 - s).T  # #neurons where i is on and j off
        differ = differ + differ.T
        same = 1 - torch.sign(differ)  # 1 where the two samples share their whole pattern
        value = (1.0 / same.sum(1)).sum()
        value, bad = value.item(), bool(bad)
        self.outputs = []
        if bad:
            raise FloatingPointError("linear_regions: NaN activations")
        return float(value)


def lr_batch(ctx: ProxyContext) -> int:
    return int(ctx.options.get("lr_batch") or ctx.batch_size or 64)


@register_proxy(
    "linear_regions",
    images=False,
    options={
        "lr_batch": Option(int, None, minimum=1, doc="Gaussian inputs counted (default: the run's batch size)"),
    },
    uses_batch_size=True,
    paper="Chen, Gong & Wang, ICLR 2021 (TE-NAS; number of linear regions)",
)
def linear_regions(net: nn.Module, ctx: ProxyContext) -> float:
    """Distinct ReLU sign patterns among a batch of Gaussian inputs (Kaiming fan-in init); higher is better."""
    g = seeded_generator(ctx.seed)
    kaiming_normal_(net, "fan_in", g)
    net.train()
    x = randn((lr_batch(ctx), *ctx.input_shape), g, ctx.device)
    counter = RegionCounter(net)
    with counter, torch.no_grad():
        net(x)
    return counter.count()


@register_proxy(
    "te_nas",
    grad=True,
    inputs=TE_NAS_INPUTS,
    paper="Chen, Gong & Wang, ICLR 2021 (TE-NAS: rank(-ntk_cond) + rank(linear_regions) over the set compared)",
)
def te_nas(net: nn.Module, ctx: ProxyContext) -> float:
    """rank(−NTK condition number) + rank(#linear regions) over the architectures compared."""
    raise ValueError("te_nas has no per-architecture score; the tables compute it from ntk_cond and linear_regions")
