"""Scoring in this process (``--workers 0``): one architecture at a time, Ctrl-C never tears a write.

Torch and numpy's BLAS run with the workers' thread count and numerics meanwhile (reductions are not
bit-identical across thread counts, and a score must not depend on whether workers were used); all are
given back afterwards.
A dead CUDA context cannot be replaced in this process: the run stops with one line (what finished is
saved; the architecture that hit it is not recorded), and a run with ``--workers 1`` or more would retry
it in a fresh worker.
A real Ctrl-C (or SIGTERM) is raised as ``StopRequested``, so that a ``KeyboardInterrupt`` a proxy raises
itself is only that proxy's failure.
"""

from __future__ import annotations

import signal
import threading

from ..errors import EngineError
from .fleet import Fleet, WorkerPlan
from .gpu import DeviceLost, numerics_state, restore_numerics


def run_serial(plan: WorkerPlan, fleet: Fleet, todo) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    from ..proxies.isolation import StopRequested, mark_stop_handler

    stop = fleet.stop
    stop.restore()
    threads_before = torch.get_num_threads()
    numerics_before = numerics_state()
    blas = threadpool_limits(limits=plan.threads)  # numpy's BLAS/OpenMP pools, as OMP/MKL/OPENBLAS_NUM_THREADS
    writing = [False]

    @mark_stop_handler
    def handler(signum, frame):
        stop.set, stop.signal = True, signal.Signals(signum).name
        if not writing[0]:
            raise StopRequested

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    device = plan.devices[0]
    try:
        core = plan.core_cls(plan.settings, device, plan.threads)  # (a test core records the pools here)
        fleet.ready(device, getattr(core, "identity", {}))
        for arch, proxies in todo:
            try:
                results = core.score(arch, proxies)
            except DeviceLost as err:
                raise EngineError(
                    f"{arch}: {err}: the CUDA context of this process is unusable, so the run stops here "
                    f"({fleet.writer.done} architectures saved); run the same command again to resume (with "
                    "--workers 1 or more, a worker that hits this is replaced and the architecture retried once)"
                ) from None
            fleet.measured(device, core.memory() if hasattr(core, "memory") else {})
            writing[0] = True
            try:
                fleet.writer.add(arch, results)
                fleet.writer.flush()
            finally:
                writing[0] = False
            if stop.set:
                break
    except KeyboardInterrupt:
        stop.set = True
        stop.signal = stop.signal or "SIGINT"
    finally:
        torch.set_num_threads(threads_before)
        restore_numerics(numerics_before)
        blas.restore_original_limits()
        for sig, h in old.items():
            signal.signal(sig, h)
