#!/usr/bin/env python
"""Throughput of the results store at NB101 scale: does ``score`` slow down as the results file grows?

The workers score instantly (``zcbench.testing.inject.InstantWorkerCore``: a hash per proxy and arch, no
torch), so what is timed is the engine's parent process alone: messages, the journal, the HDF5 commits.
The run is split into tenths by rows recorded; the script prints the arch/s of each tenth and the ratio of
the last tenth to the first — by the wall clock, and by the parent's CPU time, which other load on the
machine does not move — plus how many commits there were and how long they took. The issue's target
(#16 §4): 100,000 architectures x 3 proxies, last tenth >= 80% of the first.

Instant workers record a few thousand architectures a second, a GPU run tens: the store commits every
0.25 s here instead of every 30 s, so that the run makes about as many commits (~150-250) as an NB101 run
of a few hours does — each one on a file as large as that run's. Usage::

    python scripts/bench_store.py [--archs 100000] [--workers 2] [--space nb301] [--commit-every 0.25]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from zcbench.engine import run as engine_run
from zcbench.engine.monitor import Progress
from zcbench.settings import ArchSelection, Execution, RunSettings
from zcbench.store import writer as store_writer
from zcbench.testing.inject import InstantWorkerCore

PROXIES = ("params", "flops", "synflow")


class TimedProgress(Progress):
    """The run's progress display, also noting (time, architectures recorded) at every batch."""

    wall: list[tuple[float, int]] = []
    cpu: list[tuple[float, int]] = []

    def __call__(self, n: int, failed: int) -> None:
        super().__call__(n, failed)
        TimedProgress.wall.append((time.perf_counter(), self.n))
        TimedProgress.cpu.append((time.process_time(), self.n))


def tenths(marks: list[tuple[float, int]], total: int) -> list[float]:
    """Architectures per second of ``marks``' clock within each tenth of the rows (from the first batch)."""
    out, j = [], 0
    t_prev, n_prev = marks[0]
    for k in range(1, 11):
        goal = total * k // 10
        while j < len(marks) - 1 and marks[j][1] < goal:
            j += 1
        t, n = marks[j]
        out.append((n - n_prev) / max(t - t_prev, 1e-9))
        t_prev, n_prev = t, n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--space", default="nb301", help="a space that can sample this many without a dump")
    ap.add_argument("--commit-every", type=float, default=0.25, help="seconds between HDF5 commits (store: 30)")
    a = ap.parse_args()

    commits: list[float] = []
    real_commit = store_writer.ResultStore.commit

    def timed_commit(self) -> None:
        t0 = time.perf_counter()
        real_commit(self)
        commits.append(time.perf_counter() - t0)

    store_writer.ResultStore.commit = timed_commit
    engine_run.Progress = TimedProgress
    real_init = store_writer.ResultStore.__init__

    def init(self, path, commit_every=30.0, allow_mixed=False):
        real_init(self, path, a.commit_every, allow_mixed)

    store_writer.ResultStore.__init__ = init
    with tempfile.TemporaryDirectory(prefix="zcbench-bench-store-") as tmp:
        out = Path(tmp) / "r.h5"
        t0 = time.perf_counter()
        summary = engine_run.run_scoring(
            RunSettings(a.space, None, PROXIES),
            ArchSelection(sample=a.archs),
            Execution(workers=a.workers, quiet=True),
            out=out,
            core_cls=InstantWorkerCore,
        )
        total_s = time.perf_counter() - t0
        size_mb = out.stat().st_size / 1e6
    rates = tenths(TimedProgress.wall, summary.scored)
    cpu_rates = tenths(TimedProgress.cpu, summary.scored)
    print(f"{summary.scored} architectures x {len(PROXIES)} proxies, {a.workers} workers, {a.space}: {total_s:.1f}s")
    print("arch/s per tenth: " + " ".join(f"{r:.0f}" for r in rates))
    print(f"last tenth / first tenth: {rates[-1] / rates[0]:.2f}")
    # the parent's CPU time only: what the store costs, unmoved by other load on the machine
    print("arch per parent CPU second, per tenth: " + " ".join(f"{r:.0f}" for r in cpu_rates))
    print(f"last tenth / first tenth (parent CPU): {cpu_rates[-1] / cpu_rates[0]:.2f}")
    k = max(1, len(commits) // 10)
    print(
        f"commits: {len(commits)}, {sum(commits):.2f}s in all, longest {max(commits, default=0):.2f}s; "
        f"mean of the first tenth {sum(commits[:k]) / k:.3f}s, of the last {sum(commits[-k:]) / k:.3f}s"
    )
    print(f"results file: {size_mb:.1f} MB")


if __name__ == "__main__":
    main()
