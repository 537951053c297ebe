"""Compute several proxies of one architecture: one network build, NaN with the reason on failure, shared
passes where exact, and no proxy able to change what the next one sees.

This is the only place that turns a proxy's exception or non-finite value into a stored NaN with a
reason. Per architecture:

* the network is built once (:class:`NetworkSource`) and restored to its freshly built state before each
  next proxy (``pristine.py``): the scores are those of one fresh build per proxy, bit for bit;
* each proxy gets its own copy of the minibatch and options, the random generators as they were after the
  build, and torch's global state checked afterwards (``isolation.py``); ``SystemExit``, ``os._exit`` and a
  ``KeyboardInterrupt`` that is not the user's Ctrl-C are that proxy's failure;
* out of GPU memory at the run's batch size is a failure (``out of memory at batch 64 on <GPU>``) unless
  ``split_on_oom`` (``--oom split``, a run key of its own): then the minibatch is processed in 2, 4, ...
  pieces, as the reference implementation of Abdelfattah et al. does. The failed attempt is freed before
  the next one.

``compute_one`` is the reference (a fresh network for one proxy); ``compute_scores`` groups proxies into
the shared passes of ``shared_passes.py`` when the scores are identical. Seconds are read after the
device's queued work is done, so a shared pass's kernels are not charged to its first member.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from .base import PROXIES, ProxyContext
from .isolation import GlobalState, ProxyExit, RandomState, exit_guard, is_proxy_failure, leftover_changes
from .meter import Label, Meter
from .pristine import Pristine

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
    if isinstance(err, (NotANumber, ProxyExit)):
        return str(err)
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return (text.splitlines() or [type(err).__name__])[0]


def _result(value: float, seconds: float) -> ProxyResult:
    if not math.isfinite(value):
        return ProxyResult(math.nan, seconds, f"non-finite value {value}")
    return ProxyResult(value, seconds)


def device_name(device: torch.device) -> str:
    """The GPU's name (``NVIDIA H100 80GB HBM3``), else the device type."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def oom_reason(ctx: ProxyContext, split: int) -> str:
    """The stored reason of an out-of-memory failure; ``status`` says what to do about it."""
    batch = len(ctx.inputs) if ctx.inputs is not None else ctx.batch_size
    pieces = f" split in {split}" if split > 1 else ""
    return f"out of memory at batch {batch}{pieces} on {device_name(torch.device(ctx.device))}"


def clock(device: torch.device) -> float:
    """``perf_counter`` once the device's queued work is done (a GPU runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _free_memory() -> None:
    """After an out-of-memory error, outside its ``except`` (the traceback no longer holds tensors)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class NetworkSource:
    """One architecture's network on ``device``: built on first use, restored to its freshly built state
    (values, structure, random generators) for every next use instead of being built again."""

    def __init__(self, make_net: Callable[[], nn.Module], device: torch.device, meter: Meter | None = None) -> None:
        self.make_net, self.device, self.meter = make_net, torch.device(device), meter
        self.net: nn.Module | None = None
        self.pristine: Pristine | None = None
        self.rng: RandomState | None = None
        self.dirty = False
        self.builds = 0

    def get(self) -> nn.Module:
        """The network as freshly built, with the random generators as they were after the build."""
        if self.net is None:
            self.release()  # a failed build's leftovers go before the next build
            net = self.make_net()
            self.rng = RandomState.capture(self.device)
            self.net = net.to(self.device)
            self.pristine = Pristine(self.net)
            self.builds += 1
            if self.meter is not None:
                self.meter.built()
        else:
            self.tidy()
            self.rng.restore()
        self.dirty = True
        return self.net

    def tidy(self) -> None:
        """Restore the network now (frees the gradients and buffers a failed attempt left)."""
        if self.net is not None and self.dirty:
            self.pristine.restore()
            self.dirty = False

    def release(self) -> None:
        self.net = self.pristine = None
        self.dirty = False


def _private(ctx: ProxyContext) -> ProxyContext:
    """The context one proxy gets: its own minibatch and options (changing them changes no other proxy's)."""
    return replace(
        ctx,
        inputs=None if ctx.inputs is None else ctx.inputs.clone(),
        targets=None if ctx.targets is None else ctx.targets.clone(),
        options=type(ctx.options)(ctx.options),  # a ProxyOptions stays one: undeclared keys are refused
    )


@dataclass
class _Attempt:
    value: Any = None
    error: str = ""
    oom: bool = False


class ArchRun:
    """The proxies of one architecture, sharing one :class:`NetworkSource`."""

    def __init__(self, make_net: Callable[[], nn.Module], ctx: ProxyContext, split_on_oom: bool, meter: Meter | None):
        self.device = torch.device(ctx.device)
        self.source = NetworkSource(make_net, self.device, meter)
        self.ctx, self.split_on_oom, self.meter = ctx, split_on_oom, meter

    def measure(self, label: Label) -> AbstractContextManager:
        return self.meter.measure(label) if self.meter is not None else nullcontext()

    def attempt(self, call: Callable[[nn.Module, ProxyContext], Any], ctx: ProxyContext) -> _Attempt:
        """``call(net, ctx)`` on the restored network and a private context; never raises a proxy's failure."""
        state = GlobalState.capture()
        try:
            with exit_guard():
                out = _Attempt(call(self.source.get(), _private(ctx)))
        except BaseException as err:  # SystemExit, os._exit and a proxy's own KeyboardInterrupt too
            if not is_proxy_failure(err):
                raise
            out = _Attempt(error=_reason(err), oom=_is_oom(err))
        changed = leftover_changes(state)
        if changed:
            out = _Attempt(error=changed)
        if out.oom:
            self.source.tidy()
            _free_memory()
        return out

    def one(self, name: str) -> ProxyResult:
        """One proxy (alone), with the out-of-memory policy."""
        spec = PROXIES.get(name)
        t0 = clock(self.device)
        split = self.ctx.split_data
        with self.measure(name):
            while True:
                ctx = replace(self.ctx, split_data=split, options=spec.option_values(self.ctx.options))
                out = self.attempt(lambda net, c: as_number(spec.fn(net, c)), ctx)
                if out.oom and self.split_on_oom and spec.splits and self._can_split(split):
                    split *= 2
                    continue
                break
        seconds = clock(self.device) - t0
        if out.oom:
            return ProxyResult(math.nan, seconds, oom_reason(self.ctx, split))
        if out.error:
            return ProxyResult(math.nan, seconds, out.error)
        return _result(out.value, seconds)

    def _can_split(self, split: int) -> bool:
        return self.ctx.inputs is not None and split * 2 <= min(MAX_SPLIT, len(self.ctx.inputs))

    def shared(self, members: Sequence[str], group_fn: Callable) -> dict[str, ProxyResult] | None:
        """One shared pass for ``members``; ``None`` when the pass itself failed (each member is then
        computed alone, which has the out-of-memory policy and records each member's own reason). Each
        member's ``seconds`` is its own finishing time plus an even share of the pass."""
        t0 = clock(self.device)
        with self.measure(tuple(members)):
            out = self.attempt(lambda net, c: group_fn(set(members), net, c), self.ctx)
        if out.error:
            return None
        results: dict[str, ProxyResult] = {}
        for name in members:
            t1 = clock(self.device)
            with self.measure(name):
                results[name] = _finish(name, out.value[name], 0.0)
            results[name].seconds = clock(self.device) - t1
        share = (clock(self.device) - t0 - sum(r.seconds for r in results.values())) / len(members)
        for r in results.values():
            r.seconds += share
        return results


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


def compute_one(
    name: str,
    make_net: Callable[[], nn.Module],
    ctx: ProxyContext,
    split_on_oom: bool = False,
    meter: Meter | None = None,
) -> ProxyResult:
    """One proxy on a freshly built network; never raises for a proxy's failure (see the module docstring)."""
    run = ArchRun(make_net, ctx, split_on_oom, meter)
    try:
        return run.one(name)
    finally:
        run.source.release()


def compute_scores(
    names: Sequence[str],
    make_net: Callable[[], nn.Module],
    ctx: ProxyContext,
    share: bool = True,
    split_on_oom: bool = False,
    meter: Meter | None = None,
) -> dict[str, ProxyResult]:
    """All ``names`` for one architecture from one build of ``make_net`` (which must return the same
    initial weights on every call: the engine seeds it), restored for each proxy, so proxies are
    independent of their order.

    With ``share`` (default) proxies that can be computed together (see ``shared_passes.GROUPS``) come from
    one shared pass, with scores identical to :func:`compute_one`'s; ``share=False`` is the plain
    one-proxy-at-a-time loop. A proxy with ``inputs`` (``vote``) gets no entry; its inputs do. ``meter``
    counts builds and host syncs per proxy (``zcbench bench``)."""
    from .shared_passes import GROUPS

    todo = expand_names(names)
    results: dict[str, ProxyResult] = {}
    run = ArchRun(make_net, ctx, split_on_oom, meter)
    try:
        if share and ctx.split_data == 1:
            for members, group_fn in GROUPS:
                chosen = [n for n in todo if n in members]
                if len(chosen) >= 2:
                    results.update(run.shared(chosen, group_fn) or {})
        for name in todo:
            if name not in results:
                results[name] = run.one(name)
    finally:
        run.source.release()
    return {name: results[name] for name in todo}
