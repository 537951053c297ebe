"""Compute several proxies of one architecture: NaN on failure, shared passes where exact.

This is the only place that turns a proxy's exception or non-finite value into a stored NaN with a
reason, and that retries a CUDA out-of-memory error on a split minibatch (as the reference
implementation of Abdelfattah et al. does). ``compute_one`` is the reference (fresh network per proxy);
``compute_scores`` groups proxies into the shared passes of ``shared_passes.py`` when the scores are identical.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

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


class NotANumber(TypeError):
    """A proxy returned something that is not a score (its message is the stored reason)."""


def as_number(value: Any) -> float:
    """A proxy's return value as a float, or :class:`NotANumber` saying what it returned.

    Numbers, numpy scalars and one-element tensors/arrays are scores (they define ``__float__``); a
    string, None, a list or a tensor of several elements is not. The type is checked rather than the
    conversion tried: ``float("1.5")`` would parse a string. The conversion stays inside the proxy's
    timing (a CUDA tensor synchronises here)."""
    what = "None" if value is None else type(value).__name__
    shape = tuple(getattr(value, "shape", ()) or ())
    if shape:
        what += f" of shape {shape}"
    if not hasattr(type(value), "__float__") or math.prod(shape) != 1:
        raise NotANumber(f"returned {what}, not a number")
    return float(value)


def _reason(err: BaseException) -> str:
    """The stored reason of a failure: one line with the exception's type (a non-number says what it was)."""
    if isinstance(err, NotANumber):
        return str(err)
    return (f"{type(err).__name__}: {err}".splitlines() or [type(err).__name__])[0]


def _result(value: float, seconds: float) -> ProxyResult:
    if not math.isfinite(value):
        return ProxyResult(math.nan, seconds, f"non-finite value {value}")
    return ProxyResult(value, seconds)


def compute_one(name: str, make_net: Callable[[], nn.Module], ctx: ProxyContext) -> ProxyResult:
    """One proxy on a freshly built network; never raises for a numerical or OOM failure."""
    spec = PROXIES.get(name)
    t0 = time.perf_counter()
    split = ctx.split_data
    while True:
        try:
            net = make_net().to(ctx.device)
            value = as_number(spec.fn(net, replace(ctx, split_data=split, options=spec.option_values(ctx.options))))
            break
        except Exception as err:  # noqa: BLE001 - any proxy failure becomes a NaN with its reason
            if _is_oom(err) and ctx.inputs is not None and split * 2 <= min(MAX_SPLIT, len(ctx.inputs)):
                split *= 2
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                continue
            return ProxyResult(math.nan, time.perf_counter() - t0, _reason(err))
    return _result(value, time.perf_counter() - t0)


def expand_names(names: Sequence[str]) -> list[str]:
    """The proxies to compute for ``names``: a proxy with ``inputs`` (``vote``) is replaced by its
    inputs (added after the requested names, without duplicates); order otherwise kept."""
    out: list[str] = []
    for name in names:
        spec = PROXIES.get(name)
        for n in spec.inputs or (name,):
            if n not in out:
                out.append(n)
    return out


def _finish(name: str, fn: Callable[[], float], seconds: float) -> ProxyResult:
    """One member of a shared pass: the same NaN-with-reason rules as :func:`compute_one`."""
    try:
        value = as_number(fn())
    except Exception as err:  # noqa: BLE001
        return ProxyResult(math.nan, seconds, _reason(err))
    return _result(value, seconds)


def compute_shared(
    members: Sequence[str], group_fn: Callable, make_net: Callable[[], nn.Module], ctx: ProxyContext
) -> dict[str, ProxyResult] | None:
    """Run one shared pass for ``members``; ``None`` when the pass itself failed (the caller then
    computes each member alone, which splits on OOM and records each member's own reason).
    Each member's ``seconds`` is the pass time divided evenly among the members."""
    t0 = time.perf_counter()
    try:
        net = make_net().to(ctx.device)
        finishers = group_fn(set(members), net, ctx)
    except Exception as err:  # noqa: BLE001 - fall back to the reference path
        if _is_oom(err) and torch.cuda.is_available():
            torch.cuda.empty_cache()
        return None
    results: dict[str, ProxyResult] = {}
    for name in members:
        t1 = time.perf_counter()
        results[name] = _finish(name, finishers[name], 0.0)
        results[name].seconds = time.perf_counter() - t1
    share = (time.perf_counter() - t0 - sum(r.seconds for r in results.values())) / len(members)
    for r in results.values():
        r.seconds += share
    return results


def compute_scores(
    names: Sequence[str], make_net: Callable[[], nn.Module], ctx: ProxyContext, share: bool = True
) -> dict[str, ProxyResult]:
    """All ``names`` for one architecture. ``make_net`` must return the same initial weights on
    every call (the engine seeds it), so proxies are independent of their order.

    With ``share`` (default) proxies that can be computed together (see ``shared_passes.GROUPS``) come from
    one shared pass, with scores identical to :func:`compute_one`'s; ``share=False`` is the plain
    one-proxy-at-a-time loop. A proxy with ``inputs`` (``vote``) gets no entry; its inputs do."""
    from .shared_passes import GROUPS

    todo = expand_names(names)
    results: dict[str, ProxyResult] = {}
    if share and ctx.split_data == 1:
        for members, group_fn in GROUPS:
            chosen = [n for n in todo if n in members]
            if len(chosen) < 2:
                continue
            shared = compute_shared(chosen, group_fn, make_net, ctx)
            if shared is not None:
                results.update(shared)
    for name in todo:
        if name not in results:
            results[name] = compute_one(name, make_net, ctx)
    return {name: results[name] for name in todo}
