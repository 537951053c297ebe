"""``swap`` and ``reg_swap``: SWAP-Score (Peng et al., ICLR 2024), ``pym1024/SWAP src/metrics/swap.py``.

For each of ``swap_repeats`` (32, the paper code's ``--repeats``) re-initialisations — Conv2d/Linear
N(0,1), BN weight 1 / bias 0, drawn from a generator seeded with ``ctx.seed`` — the first ``swap_batch``
(16) samples of the minibatch go forward (train mode, no gradients); the outputs of every ``nn.ReLU``
whose input is 4-D are flattened per sample and concatenated into a (samples × neurons) matrix, signs
taken, and the score is the number of distinct rows of its transpose (distinct per-neuron patterns).
``swap`` is the mean over repeats.

``reg_swap`` multiplies by exp(−(params_K − μ)²/σ), params_K = parameters (not named ``auxiliary``)/1e3.
μ and σ (options ``reg_swap_mu``, ``reg_swap_sigma``, in thousands of parameters) have no published
default (the paper's values are unknown and the code's default is "no regularisation"), so ``reg_swap``
without them is stored as NaN with that reason rather than with invented constants.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import gaussian_init_, params_in_thousands, require_inputs, seeded_generator


def count_unique_rows(signs: torch.Tensor) -> int:
    """Number of distinct rows of ``signs`` (values in {−1, 0, 1}); equal to
    ``torch.unique(signs, dim=0).size(0)`` (the reference) but computed from one integer code per row:
    base 2 when no value is negative (post-ReLU signs), base 3 otherwise, while the code fits."""
    if torch.isnan(signs).any():
        raise FloatingPointError("swap: NaN activations")
    n_rows, n_cols = signs.shape
    binary = bool((signs >= 0).all())
    base = 2 if binary else 3
    if n_cols == 0 or n_cols > (62 if binary else 39):
        return int(torch.unique(signs, dim=0).size(0))
    digits = signs if binary else signs + 1
    codes = torch.zeros(n_rows, dtype=torch.int64, device=signs.device)
    for j in range(n_cols):
        codes += digits[:, j].to(torch.int64) * (base**j)
    if binary and n_cols <= 20:
        return int(torch.count_nonzero(torch.bincount(codes, minlength=1)))
    return int(torch.unique(codes).numel())


def count_patterns(act: torch.Tensor) -> int:
    """SWAP's count for a (samples × neurons) activation matrix: distinct rows of sign(act)ᵀ.
    Post-ReLU activations are ≥ 0, so each neuron's pattern is a bit string over the samples; it is
    coded as an exact float32 integer (≤ 24 samples) and counted. Anything else (negative values, NaN,
    more samples) goes through :func:`count_unique_rows`."""
    n = act.shape[0]
    if 0 < n <= 24 and bool(act.min() >= 0):
        bits = (act > 0).to(torch.float32)
        weights = torch.pow(2.0, torch.arange(n, dtype=torch.float32, device=act.device))
        codes = (weights @ bits).to(torch.int64)
        if n <= 16:
            return int(torch.count_nonzero(torch.bincount(codes)))
        return int(torch.unique(codes).numel())
    return count_unique_rows(torch.sign(act).t())


def swap_counts(net: nn.Module, ctx: ProxyContext) -> list[int]:
    """SWAP count per re-initialisation (the raw values both proxies average)."""
    x, _ = require_inputs(ctx)
    x = x[: int(ctx.options.get("swap_batch", 16))]
    repeats = int(ctx.options.get("swap_repeats", 32))
    feats: list[torch.Tensor] = []

    def hook(module, inp, out):
        if isinstance(inp, tuple) and inp[0].dim() == 4:
            feats.append(out.detach())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    g = seeded_generator(ctx.seed)
    net.train()
    counts = []
    try:
        with torch.no_grad():
            for _ in range(repeats):
                gaussian_init_(net, g)
                feats.clear()
                net(x)
                if not feats:
                    raise ValueError("swap: the network has no nn.ReLU with a 4-D input")
                act = torch.cat([f.reshape(x.size(0), -1) for f in feats], 1)
                counts.append(count_patterns(act))
    finally:
        for h in handles:
            h.remove()
        feats.clear()
    return counts


def swap_from(counts: list[int]) -> float:
    return math.fsum(counts) / len(counts)


def reg_factor(net: nn.Module, ctx: ProxyContext) -> float:
    mu, sigma = ctx.options.get("reg_swap_mu"), ctx.options.get("reg_swap_sigma")
    if mu is None or sigma is None:
        raise ValueError("reg_swap needs options reg_swap_mu and reg_swap_sigma (thousands of parameters)")
    return math.exp(-((params_in_thousands(net) - float(mu)) ** 2) / float(sigma))


@register_proxy("swap", option_keys=("swap_batch", "swap_repeats"), paper="Peng et al., ICLR 2024 (SWAP-NAS)")
def swap(net: nn.Module, ctx: ProxyContext) -> float:
    """Mean number of distinct post-ReLU sign patterns over Gaussian re-inits."""
    return swap_from(swap_counts(net, ctx))


@register_proxy("reg_swap", option_keys=("swap_batch", "swap_repeats", "reg_swap_mu", "reg_swap_sigma"),
                paper="Peng et al., ICLR 2024 (SWAP-NAS, regularised)")
def reg_swap(net: nn.Module, ctx: ProxyContext) -> float:
    """SWAP × exp(−(params_K − μ)²/σ); μ, σ from options (NaN with a reason when unset)."""
    factor = reg_factor(net, ctx)  # parameter count of the unmodified net; fail before the forwards
    return swap_from(swap_counts(net, ctx)) * factor
