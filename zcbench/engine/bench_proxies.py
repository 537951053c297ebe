"""``zcbench bench``: how much the shared passes and the single build save, measured on this machine.

For each architecture the chosen proxies are computed twice from the same seeded network and minibatch:
the plain loop (``compute_one`` per proxy, a fresh network each, as the reference code does) and
``compute_scores`` (one build restored per proxy, shared passes). The table gives each proxy's mean seconds
per architecture in both, the totals and their ratio, the network builds and host-sync calls per
architecture of ``compute_scores``, and whether every score is identical (NaN = NaN).

The first architecture is also computed once untimed, with a host-sync counter (a ``TorchFunctionMode``,
which slows every torch call, hence not in a timed pass); that pass is the warm-up too, so one-off costs
(kernel selection, allocator growth, lazy imports) are charged to neither loop. Timers are read after the
device's queued work is done (``runner.clock``). Torch runs with the thread count of ``score``'s workers
(``$ZCBENCH_WORKER_THREADS``, default 1) unless ``threads`` says otherwise: a bench at all cores would time
something no score run does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch

from ..formatting import format_frame
from ..progress import track
from ..proxies.meter import Meter
from ..proxies.runner import clock, compute_one
from ..settings import RunSettings
from ..spaces import get_space
from .scorer import ArchScorer
from .worker import THREADS_ENV, worker_threads


@dataclass(frozen=True)
class BenchSettings:
    """How the benchmark runs (what is scored is a :class:`~zcbench.settings.RunSettings`)."""

    n_archs: int = 3  # sampled with the run seed, unless ``archs`` names them
    archs: tuple[str, ...] | None = None
    device: str = "cpu"
    threads: int | None = None  # torch intra-op threads; None: as score's workers


@dataclass
class BenchResult:
    """Per-proxy seconds (summed over architectures) of both loops, builds and host syncs of the shared
    loop, and any score mismatches."""

    proxies: list[str]
    n_archs: int
    device: str
    plain: dict[str, float] = field(default_factory=dict)
    shared: dict[str, float] = field(default_factory=dict)
    plain_total: float = 0.0
    shared_total: float = 0.0
    mismatches: list[str] = field(default_factory=list)
    builds: dict[str, float] = field(default_factory=dict)  # summed over architectures
    syncs: dict[str, float] = field(default_factory=dict)  # on the first architecture
    threads: str = ""

    def groups(self) -> list[tuple[str, list[str]]]:
        """The shared passes that ran (``shared_passes.GROUPS``, ≥ 2 members chosen) and the rest, computed
        alone: where the time goes, and why the total ratio is bounded by the groups' ratios."""
        from ..proxies.shared_passes import GROUPS

        out, grouped = [], set()
        for i, (members, _) in enumerate(GROUPS, 1):
            chosen = [p for p in self.proxies if p in members]
            if len(chosen) >= 2:
                out.append((f"[pass {i}]", chosen))
                grouped.update(chosen)
        alone = [p for p in self.proxies if p not in grouped]
        if out and alone:
            out.append(("[alone]", alone))
        return out

    @property
    def ratio(self) -> float:
        return self.plain_total / self.shared_total if self.shared_total > 0 else math.nan

    def frame(self) -> pd.DataFrame:
        """Mean seconds per architecture of both loops and their ratio: each proxy, each shared pass
        (with its members), then ALL."""
        n = max(self.n_archs, 1)

        def row(label: str, members: Sequence[str], plain: float | None = None, shared: float | None = None) -> dict:
            plain = sum(self.plain[p] for p in members) if plain is None else plain
            shared = sum(self.shared[p] for p in members) if shared is None else shared
            return {
                "proxy": label,
                "plain s/arch": plain / n,
                "shared s/arch": shared / n,
                "ratio": plain / shared if shared > 0 else math.nan,
                "builds": sum(self.builds.get(p, 0.0) for p in members) / n,
                "syncs": sum(self.syncs.get(p, 0.0) for p in members),
                "pass": ", ".join(members) if label.startswith("[") else "",
            }

        rows = [row(p, [p]) for p in self.proxies]
        rows += [row(label, members) for label, members in self.groups()]
        rows.append(row("ALL", self.proxies, self.plain_total, self.shared_total))
        return pd.DataFrame(rows)

    def table(self) -> str:
        """The frame as a text table between the run's settings and whether the scores agree."""
        head = f"device {self.device}, {self.n_archs} architecture(s), torch threads {self.threads}\n"
        note = "builds: network builds per architecture; syncs: host-sync calls on the first architecture\n"
        same = "scores identical: " + ("yes" if not self.mismatches else "NO: " + "; ".join(self.mismatches))
        return head + format_frame(self.frame(), "table") + note + same


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def run_bench(settings: RunSettings, bench: BenchSettings | None = None) -> BenchResult:
    """Time the plain and the shared loop on ``bench.n_archs`` sampled (or the given) architectures of the
    run ``settings`` describes (plugins are loaded first, so their proxies can be timed)."""
    bench = bench or BenchSettings()
    settings = settings.validated()
    threads = bench.threads or worker_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _bench(settings, bench, threads)
    finally:
        torch.set_num_threads(before)


def _bench(settings: RunSettings, bench: BenchSettings, threads: int) -> BenchResult:
    names = settings.stored_proxies()
    scorer = ArchScorer(settings, bench.device)
    device = scorer.device
    chosen = list(bench.archs) if bench.archs else get_space(settings.space).sample(bench.n_archs, settings.seed)
    res = BenchResult(names, len(chosen), bench.device, {p: 0.0 for p in names}, {p: 0.0 for p in names})
    res.threads = f"{threads}" + ("" if bench.threads else f" (as score's workers: ${THREADS_ENV}, default 1)")
    counted, built = Meter(), Meter(count_syncs=False)
    for i, arch in enumerate(track(chosen, desc="bench", unit="arch")):
        if i == 0:  # untimed: counts host syncs, and warms up
            scorer.results(arch, names, meter=counted)
        make_net, ctx = scorer.make_net(arch), scorer.context(arch)
        t0 = clock(device)
        plain = {p: compute_one(p, make_net, ctx) for p in names}
        res.plain_total += clock(device) - t0
        t0 = clock(device)
        shared = scorer.results(arch, names, meter=built)
        res.shared_total += clock(device) - t0
        for p in names:
            res.plain[p] += plain[p].seconds
            res.shared[p] += shared[p].seconds
            if not _same(plain[p].score, shared[p].score):
                res.mismatches.append(f"{p} on {arch}: {plain[p].score!r} vs {shared[p].score!r}")
    res.builds = built.per_proxy(built.builds)
    res.syncs = counted.per_proxy(counted.syncs)
    return res
