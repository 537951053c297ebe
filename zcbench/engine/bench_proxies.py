"""``zcbench bench``: how much the shared passes save, measured on this machine.

For each architecture the chosen proxies are computed twice from the same seeded network and minibatch
(after one untimed warm-up pass on the first architecture):
the plain loop (``compute_one`` per proxy, a fresh network each, as the reference code does) and
``compute_scores`` (shared passes). The table gives each proxy's mean seconds per architecture in both,
the totals and their ratio, and whether every score is identical (NaN = NaN).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch

from ..formatting import format_frame
from ..progress import track
from ..proxies.runner import compute_one, compute_scores
from ..settings import RunSettings
from ..spaces import get_space
from .scorer import ArchScorer


@dataclass
class BenchResult:
    """Per-proxy seconds (summed over architectures) of both loops, and any score mismatches."""

    proxies: list[str]
    n_archs: int
    device: str
    plain: dict[str, float] = field(default_factory=dict)
    shared: dict[str, float] = field(default_factory=dict)
    plain_total: float = 0.0
    shared_total: float = 0.0
    mismatches: list[str] = field(default_factory=list)

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

        def row(label: str, plain: float, shared: float, members: str = "") -> dict:
            ratio = plain / shared if shared > 0 else math.nan
            return {
                "proxy": label,
                "plain s/arch": plain / n,
                "shared s/arch": shared / n,
                "ratio": ratio,
                "pass": members,
            }

        rows = [row(p, self.plain[p], self.shared[p]) for p in self.proxies]
        for label, members in self.groups():
            plain, shared = (sum(d[p] for p in members) for d in (self.plain, self.shared))
            rows.append(row(label, plain, shared, ", ".join(members)))
        rows.append(row("ALL", self.plain_total, self.shared_total))
        return pd.DataFrame(rows)

    def table(self) -> str:
        """The frame as a text table between the run's settings and whether the scores agree."""
        head = f"device {self.device}, {self.n_archs} architecture(s), torch threads {torch.get_num_threads()}\n"
        same = "scores identical: " + ("yes" if not self.mismatches else "NO: " + "; ".join(self.mismatches))
        return head + format_frame(self.frame(), "table") + same


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def run_bench(
    space: str,
    dataset: str | None = None,
    proxies: Sequence[str] = ("all",),
    n_archs: int = 3,
    seed: int = 0,
    batch_size: int = 64,
    device: str = "cpu",
    options: dict | None = None,
    archs: Sequence[str] | None = None,
    synthetic: bool = True,
    data_dir: str | None = None,
    warmup: bool = True,
    plugins: Sequence[str] = (),
) -> BenchResult:
    """Time the plain and the shared loop on ``n_archs`` sampled (or the given) architectures.

    With ``warmup`` the first architecture is computed once, untimed, before either loop is timed, so
    one-off costs (kernel selection, allocator growth, lazy imports) are charged to neither loop.
    ``plugins`` (files or modules, as ``score --plugin``) are loaded first, so their proxies can be timed."""
    sp = get_space(space)
    settings = RunSettings(
        space, dataset, tuple(proxies), seed=seed, batch_size=batch_size, synthetic=synthetic, data_dir=data_dir,
        options=dict(options or {}), plugins=tuple(plugins),
    ).validated()  # fmt: skip
    names = settings.stored_proxies()
    scorer = ArchScorer(settings, device)
    chosen = list(archs) if archs else sp.sample(n_archs, seed)
    res = BenchResult(names, len(chosen), device, {p: 0.0 for p in names}, {p: 0.0 for p in names})
    for i, arch in enumerate(track(chosen, desc="bench", unit="arch")):
        make_net, ctx = scorer.make_net(arch), scorer.context(arch)
        if warmup and i == 0:
            compute_scores(names, make_net, ctx)
        t0 = time.perf_counter()
        plain = {p: compute_one(p, make_net, ctx) for p in names}
        res.plain_total += time.perf_counter() - t0
        t0 = time.perf_counter()
        shared = compute_scores(names, make_net, ctx)
        res.shared_total += time.perf_counter() - t0
        for p in names:
            res.plain[p] += plain[p].seconds
            res.shared[p] += shared[p].seconds
            if not _same(plain[p].score, shared[p].score):
                res.mismatches.append(f"{p} on {arch}: {plain[p].score!r} vs {shared[p].score!r}")
    return res
