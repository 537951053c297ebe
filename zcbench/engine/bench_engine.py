"""End-to-end throughput of ``zcbench score`` for 0..N workers on one device.

"End to end" means what a user waits for: planning, spawning workers (each imports torch and
builds the minibatch), scoring, and the durable writes, into a fresh results file each time. The
in-process path (``workers=0``) is the baseline. The proxies' own per-call timings are
``zcbench bench``'s job; this module only times the engine around them.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..formatting import format_frame
from ..progress import track
from ..settings import (
    BENCH_ENGINE_ARCHS,
    BENCH_ENGINE_PROXIES,
    BENCH_SPACE,
    DEFAULT_DEVICE,
    ArchSelection,
    Execution,
    RunSettings,
)
from .run import run_scoring


@dataclass
class EngineThroughput:
    workers: int
    archs: int
    seconds: float
    device: str
    peak_memory: int = 0  # bytes: the most GPU memory one worker's allocator held (0 on CPUs)

    @property
    def archs_per_s(self) -> float:
        return self.archs / self.seconds if self.seconds > 0 else float("nan")


def default_settings() -> RunSettings:
    """What is timed unless told otherwise: cheap proxies on synthetic inputs, so the engine's cost shows."""
    return RunSettings(BENCH_SPACE, proxies=BENCH_ENGINE_PROXIES, synthetic=True)


def engine_throughput(
    settings: RunSettings | None = None,
    n_archs: int = BENCH_ENGINE_ARCHS,
    workers: Sequence[int] | None = None,
    device: str = DEFAULT_DEVICE,
) -> list[EngineThroughput]:
    """Time ``score`` of ``settings`` (default: :func:`default_settings`) on the same ``n_archs`` sampled
    archs for each worker count (default: 0, 1, ..., cores; per device). Each run writes a fresh temporary
    file, so nothing is cached. The settings' plugins are loaded as ``score --plugin`` loads them (every
    worker imports them: part of the measured start-up)."""
    settings = settings or default_settings()
    counts = list(workers) if workers is not None else list(range(0, (os.cpu_count() or 1) + 1))
    out: list[EngineThroughput] = []
    with tempfile.TemporaryDirectory(prefix="zcbench-bench-") as tmp:
        for w in track(counts, desc="bench-engine", unit="run"):  # one tick per worker count
            path = Path(tmp) / f"w{w}.h5"
            t0 = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()):  # the runs' own log lines are not the report
                summary = run_scoring(
                    settings, ArchSelection(sample=n_archs), Execution(device=device, workers=w, quiet=True), out=path
                )
            seconds = time.perf_counter() - t0
            out.append(EngineThroughput(w, summary.scored, seconds, device, summary.peak_memory))
    return out


def throughput_frame(rows: Sequence[EngineThroughput]) -> pd.DataFrame:
    """workers, archs, seconds, arch/s, speed-up over the first row (the in-process baseline), device; on a
    GPU also the peak memory of one worker (MiB)."""
    base = rows[0].archs_per_s if rows else float("nan")
    gpu = any(r.device != "cpu" for r in rows)
    columns = ["workers", "archs", "seconds", "arch/s", "speed-up", "device"] + (["peak MiB/worker"] if gpu else [])
    return pd.DataFrame(
        [
            {
                "workers": r.workers,
                "archs": r.archs,
                "seconds": r.seconds,
                "arch/s": r.archs_per_s,
                "speed-up": r.archs_per_s / base,
                "device": r.device,
                "peak MiB/worker": r.peak_memory / 2**20,
            }
            for r in rows
        ],
        columns=columns,
    )


def format_throughput(rows: Sequence[EngineThroughput]) -> str:
    """The throughput frame as a text table (2 decimals: seconds and ratios, not scores)."""
    return format_frame(throughput_frame(rows), "table", digits=2)
