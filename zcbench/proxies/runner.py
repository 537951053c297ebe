"""Compute several proxies of one architecture: fresh network per proxy, NaN on failure.

This is the only place that turns a proxy's exception or non-finite value into a stored NaN with a
reason, and that retries a CUDA out-of-memory error on a split minibatch (as the reference
implementation of Abdelfattah et al. does).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import torch
from torch import nn

from .base import PROXIES, ProxyContext

MAX_SPLIT = 64


@dataclass
class ProxyResult:
    score: float
    seconds: float
    error: str = ""  # why the score is NaN; empty when it is a real value


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err).lower()


def compute_one(name: str, make_net: Callable[[], nn.Module], ctx: ProxyContext) -> ProxyResult:
    """One proxy on a freshly built network; never raises for a numerical or OOM failure."""
    spec = PROXIES.get(name)
    t0 = time.perf_counter()
    split = ctx.split_data
    while True:
        try:
            net = make_net().to(ctx.device)
            value = float(spec.fn(net, replace(ctx, split_data=split)))
            break
        except Exception as err:  # noqa: BLE001 - any proxy failure becomes a NaN with its reason
            if _is_oom(err) and ctx.inputs is not None and split * 2 <= min(MAX_SPLIT, len(ctx.inputs)):
                split *= 2
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            return ProxyResult(math.nan, time.perf_counter() - t0, f"{type(err).__name__}: {err}".splitlines()[0])
    seconds = time.perf_counter() - t0
    if not math.isfinite(value):
        return ProxyResult(math.nan, seconds, f"non-finite value {value}")
    return ProxyResult(value, seconds)


def compute_scores(
    names: Sequence[str], make_net: Callable[[], nn.Module], ctx: ProxyContext
) -> dict[str, ProxyResult]:
    """All ``names`` for one architecture. ``make_net`` must return the same initial weights on
    every call (the engine seeds it), so proxies are independent of their order."""
    return {name: compute_one(name, make_net, ctx) for name in names}
