"""Scoring in this process (``--workers 0``): one architecture at a time, Ctrl-C never tears a write.

Torch runs with the workers' thread count meanwhile: reductions are not bit-identical across thread
counts, and a score must not depend on whether workers were used. A real Ctrl-C (or SIGTERM) is raised as
``StopRequested``, so that a ``KeyboardInterrupt`` a proxy raises itself is only that proxy's failure.
"""

from __future__ import annotations

import signal
import threading

from ..settings import RunSettings
from .monitor import StopFlag
from .recorder import RowWriter
from .worker import WorkerCore, worker_threads


def run_serial(
    settings: RunSettings, device: str, todo, writer: RowWriter, stop: StopFlag, core_cls: type[WorkerCore] = WorkerCore
) -> None:
    import torch

    from ..proxies.isolation import StopRequested, mark_stop_handler

    stop.restore()
    threads_before = torch.get_num_threads()
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
    try:
        core = core_cls(settings, device, worker_threads())
        for arch, proxies in todo:
            results = core.score(arch, proxies)
            writing[0] = True
            try:
                writer.add(arch, results)
                writer.flush()
            finally:
                writing[0] = False
            if stop.set:
                break
    except KeyboardInterrupt:
        stop.set = True
        stop.signal = stop.signal or "SIGINT"
    finally:
        torch.set_num_threads(threads_before)
        for sig, h in old.items():
            signal.signal(sig, h)
