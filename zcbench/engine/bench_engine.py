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
from ..settings import ArchSelection, Execution, RunSettings
from .run import run_scoring


@dataclass
class EngineThroughput:
    workers: int
    archs: int
    seconds: float
    device: str

    @property
    def archs_per_s(self) -> float:
        return self.archs / self.seconds if self.seconds > 0 else float("nan")


def engine_throughput(
    space: str = "nb201",
    dataset: str | None = None,
    proxies: Sequence[str] = ("params", "flops", "synflow"),
    n_archs: int = 48,
    workers: Sequence[int] | None = None,
    device: str = "cpu",
    seed: int = 0,
    synthetic: bool = True,
    data_dir: str | None = None,
    batch_size: int = 64,
    plugins: Sequence[str] = (),
) -> list[EngineThroughput]:
    """Time ``score`` on the same ``n_archs`` sampled archs for each worker count (default:
    0, 1, ..., cores). Each run writes a fresh temporary file, so nothing is cached. ``plugins`` are
    loaded as ``score --plugin`` loads them (every worker imports them: part of the measured start-up)."""
    from ..spaces import get_space

    sp = get_space(space)
    dataset = sp.check_dataset(dataset or sp.datasets[0])
    counts = list(workers) if workers is not None else list(range(0, (os.cpu_count() or 1) + 1))
    out: list[EngineThroughput] = []
    with tempfile.TemporaryDirectory(prefix="zcbench-bench-") as tmp:
        for w in track(counts, desc="bench-engine", unit="run"):  # one tick per worker count
            path = Path(tmp) / f"w{w}.h5"
            t0 = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()):  # the runs' own log lines are not the report
                summary = run_scoring(
                    RunSettings(space, dataset, tuple(proxies), seed=seed, batch_size=batch_size,
                                synthetic=synthetic, data_dir=data_dir, plugins=tuple(plugins)),
                    ArchSelection(sample=n_archs),
                    Execution(device=device, workers=w, quiet=True),
                    out=str(path),
                )  # fmt: skip
            out.append(EngineThroughput(w, summary.scored, time.perf_counter() - t0, device))
    return out


def throughput_frame(rows: Sequence[EngineThroughput]) -> pd.DataFrame:
    """workers, archs, seconds, arch/s, speed-up over the first row (the in-process baseline), device."""
    base = rows[0].archs_per_s if rows else float("nan")
    return pd.DataFrame(
        [
            {
                "workers": r.workers,
                "archs": r.archs,
                "seconds": r.seconds,
                "arch/s": r.archs_per_s,
                "speed-up": r.archs_per_s / base,
                "device": r.device,
            }
            for r in rows
        ],
        columns=["workers", "archs", "seconds", "arch/s", "speed-up", "device"],
    )


def format_throughput(rows: Sequence[EngineThroughput]) -> str:
    """The throughput frame as a text table (2 decimals: seconds and ratios, not scores)."""
    return format_frame(throughput_frame(rows), "table", digits=2)
