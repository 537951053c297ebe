"""Running a planned score job: progress, devices, workers, and the single writer.

The parent process owns the :class:`ResultStore` (the only writer); work is scored in this process
(``workers=0``) or by worker processes (see ``run_pool``).
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from .errors import UsageError
from .scoring import RunSettings, plan_run, run_serial
from .store import ResultStore


def _progress_bar(total: int, quiet: bool):
    return tqdm(total=total, unit="arch", disable=quiet or total == 0, file=sys.stderr, dynamic_ncols=True,
                smoothing=0.1)


def score_command(*, space, dataset, proxies, dump=None, archs_file=None, sample=None, limit=None, seed=0,
                  batch_size=64, dataload="random", dataload_info=1, epochs=None, device="cpu", workers=0,
                  data_dir=None, synthetic=False, options=None, out="results/zcbench.h5", resume=True,
                  quiet=False, shard=None, timeout=None) -> str:
    """Plan, score and store; returns the one-paragraph summary printed by ``zcbench score``."""
    settings = RunSettings(
        space=space, dataset=dataset, proxies=list(proxies), seed=seed, batch_size=batch_size,
        dataload=dataload, dataload_info=dataload_info, synthetic=synthetic, data_dir=data_dir,
        device=device, dump=dump, epochs=epochs, options=dict(options or {}),
    )
    if workers:
        raise UsageError("--workers needs the worker engine, not available in this build")
    t0 = time.perf_counter()
    with ResultStore(out) as store:
        plan = plan_run(settings, store, archs_file, sample, limit, resume)
        bar = _progress_bar(len(plan.todo), quiet)
        failures = [0]

        def progress(n: int, failed: int) -> None:
            failures[0] += failed
            bar.update(n)
            if failed:
                bar.set_postfix(failed=failures[0])

        try:
            n = run_serial(plan, store, progress)
        finally:
            bar.close()
    dt = time.perf_counter() - t0
    cached = len(plan.archs) - len(plan.todo)
    return (f"scored {n} architectures x {len(settings.proxies)} proxies "
            f"({cached} already cached, {failures[0]} failed scores) in {dt:.1f}s -> {out}")
