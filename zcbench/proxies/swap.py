"""``swap`` and ``reg_swap``: SWAP-Score (Peng et al., ICLR 2024), ``pym1024/SWAP src/metrics/swap.py``.

For each of ``swap_repeats`` (32, the paper code's ``--repeats``) re-initialisations — Conv2d/Linear
N(0,1), BN weight 1 / bias 0, drawn from a generator seeded with ``ctx.seed`` — the first ``swap_batch``
(16) samples of the minibatch go forward (train mode, no gradients); the outputs of every ``nn.ReLU``
whose input is 4-D are flattened per sample and concatenated into a (samples × neurons) matrix, signs
taken, and the score is the number of distinct rows of its transpose (distinct per-neuron patterns).
``swap`` is the mean over repeats.

``reg_swap`` multiplies by exp(−(params_K − μ)²/σ), params_K = parameters (not named ``auxiliary``)/1e3.
μ and σ (options ``reg_swap_mu``, ``reg_swap_sigma``, in thousands of parameters) have no published
default (the paper's values are unknown and the code's default is "no regularisation"), so they are
required options: ``--proxy all`` leaves ``reg_swap`` out unless both are given (and says so), naming it
without them is refused before any work, and no constant is invented.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .base import Option, ProxyContext, register_proxy
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


def count_patterns(parts: Sequence[torch.Tensor]) -> int:
    """SWAP's count for activation blocks (samples × neurons_i), taken together: the distinct rows of
    sign(cat(parts, 1))ᵀ (distinct per-neuron patterns). Post-ReLU activations are ≥ 0, so each neuron's
    pattern is a bit string over the samples, coded block by block as an exact float integer
    (2^i weights, ≤ 24 samples; no concatenated copy of the activations) and counted. Anything else
    (negative values, NaN, more samples) goes through :func:`count_unique_rows` on the concatenation."""
    parts = [p.reshape(p.shape[0], -1) for p in parts]
    n = parts[0].shape[0]
    filled = [p for p in parts if p.numel()]
    if 0 < n <= 24 and filled and all(bool(p.min() >= 0) for p in filled):
        codes = []
        for p in filled:
            s = torch.sign(p)
            if s.dtype not in (torch.float32, torch.float64):
                s = s.to(torch.float32)  # half precision cannot hold 2^16 − 1 exactly
            w = torch.pow(2.0, torch.arange(n, dtype=s.dtype, device=s.device))
            codes.append((w @ s).to(torch.int64))
        flat = torch.cat(codes)
        if n <= 16:
            return int(torch.count_nonzero(torch.bincount(flat)))
        return int(torch.unique(flat).numel())
    act = torch.cat(parts, 1)
    if torch.isnan(act).any():  # torch.sign(NaN) is 0 on some versions: check before taking signs
        raise FloatingPointError("swap: NaN activations")
    return count_unique_rows(torch.sign(act).t())


def swap_counts(net: nn.Module, ctx: ProxyContext) -> list[int]:
    """SWAP count per re-initialisation (the raw values both proxies average).

    The counts stay on the device until all repeats are done and are read with one host sync; only if a
    repeat's activations are not plain post-ReLU values (negative or NaN: the exact path of
    :func:`count_patterns` decides what they mean) are the repeats replayed, exactly, that way."""
    x, _ = require_inputs(ctx)
    x = x[: int(ctx.options.get("swap_batch", 16))]
    repeats = int(ctx.options.get("swap_repeats", 32))
    if 0 < len(x) <= MAX_CODED:
        counts = _device_counts(net, x, ctx.seed, repeats)
        if counts is not None:
            return counts
    return _counts(net, x, ctx.seed, repeats, lambda feats: int(count_patterns(feats)))


MAX_CODED = 24  # samples whose sign patterns fit an exact float integer code (2^i weights)


def _device_counts(net: nn.Module, x: torch.Tensor, seed: int, repeats: int) -> list[int] | None:
    """The counts of the coded path without a host sync per repeat; None if a repeat needs the exact path."""
    fits: list[torch.Tensor] = []

    def count(feats: list[torch.Tensor]) -> torch.Tensor:
        parts = [p.reshape(p.shape[0], -1) for p in feats]
        filled = [p for p in parts if p.numel()]
        if not filled:
            fits.append(torch.zeros((), dtype=torch.bool, device=x.device))
            return torch.zeros((), dtype=torch.int64, device=x.device)
        fits.append(torch.stack([p.min() for p in filled]).min() >= 0)  # NaN compares False
        return _distinct(torch.cat([_codes(p) for p in filled]), len(x))

    counts = _counts(net, x, seed, repeats, count)
    values = torch.stack([*counts, torch.stack(fits).all().to(torch.int64)]).tolist()  # the one host sync
    return [int(v) for v in values[:-1]] if values[-1] else None


def _codes(p: torch.Tensor) -> torch.Tensor:
    """One integer per neuron (column) of a samples × neurons block of non-negative values: Σ_i 2^i·sign."""
    s = torch.sign(p)
    if s.dtype not in (torch.float32, torch.float64):
        s = s.to(torch.float32)  # half precision cannot hold 2^16 − 1 exactly
    w = torch.pow(2.0, torch.arange(p.shape[0], dtype=s.dtype, device=s.device))
    return (w @ s).to(torch.int64)


def _distinct(codes: torch.Tensor, n: int) -> torch.Tensor:
    """The number of distinct ``codes`` (all in [0, 2^n)) as a device tensor, without a host sync."""
    if n <= 16:
        seen = torch.zeros(2**n, dtype=torch.bool, device=codes.device).index_fill_(0, codes, True)
        return seen.sum()
    ordered = torch.sort(codes).values
    return (ordered[1:] != ordered[:-1]).sum() + 1


def _counts(net: nn.Module, x: torch.Tensor, seed: int, repeats: int, count: Callable) -> list:
    """``count(post-ReLU activations)`` for each Gaussian re-initialisation, drawn from ``seed``."""
    feats: list[torch.Tensor] = []

    def hook(module, inp, out):
        if isinstance(inp, tuple) and inp[0].dim() == 4:
            feats.append(out.detach())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    g = seeded_generator(seed)
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
                counts.append(count(feats))
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


SWAP_OPTIONS = {
    "swap_batch": Option(int, 16, minimum=1, doc="samples of the minibatch used"),
    "swap_repeats": Option(int, 32, minimum=1, doc="Gaussian re-initialisations averaged"),
}


@register_proxy("swap", options=SWAP_OPTIONS, splits=False, paper="Peng et al., ICLR 2024 (SWAP-NAS)")
def swap(net: nn.Module, ctx: ProxyContext) -> float:
    """Mean number of distinct post-ReLU sign patterns over Gaussian re-inits."""
    return swap_from(swap_counts(net, ctx))


@register_proxy(
    "reg_swap",
    options={
        **SWAP_OPTIONS,
        "reg_swap_mu": Option(float, required=True, doc="μ in thousands of parameters; the paper publishes none"),
        "reg_swap_sigma": Option(float, required=True, positive=True, doc="σ; the paper publishes none"),
    },
    splits=False,
    paper="Peng et al., ICLR 2024 (SWAP-NAS, regularised)",
)
def reg_swap(net: nn.Module, ctx: ProxyContext) -> float:
    """SWAP × exp(−(params_K − μ)²/σ); μ, σ from options (NaN with a reason when unset)."""
    factor = reg_factor(net, ctx)  # parameter count of the unmodified net; fail before the forwards
    return swap_from(swap_counts(net, ctx)) * factor
