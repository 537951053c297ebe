"""What one worker is: torch pinned to a device with reproducible numerics, the run's plugins loaded, its
minibatch built once.

The same :class:`WorkerCore` runs in-process (no workers), in a spawned process and in a Ray actor.
``ZCBENCH_WORKER_THREADS`` sets torch's intra-op threads per worker (default 1: a float reduction can
differ in the last bit between thread counts, and a score must not depend on the worker count; on a
CPU use as many workers as cores); spawned workers also start with the OpenMP/MKL/OpenBLAS pools at that
size (``devices.worker_env``). Tests replace the core through ``DEFAULT_CORE`` (see
``zcbench.testing.inject``); production code never does.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UsageError, ZcbenchError
from ..settings import RunSettings
from .faults import Results, failed_results
from .gpu import DeviceLost, check_context, memory_report, open_device, pin_numerics

THREADS_ENV = "ZCBENCH_WORKER_THREADS"


def worker_threads() -> int:
    try:
        return max(1, int(os.environ.get(THREADS_ENV, "1")))
    except ValueError:
        raise UsageError(f"${THREADS_ENV} must be an integer") from None


def check_codes(settings: RunSettings) -> None:
    """A plugin edited after the run was planned would be scored under the old code's fingerprint: refuse."""
    from ..errors import PluginError
    from ..proxies import PROXIES

    for proxy, code in settings.codes:
        now = PROXIES.get(proxy).code
        if now != code:
            raise PluginError(f"proxy {proxy} changed since this run started (code {code} -> {now}); run it again")


class WorkerCore:
    """One worker's state; :meth:`score` never raises for a problem of one architecture, only
    :class:`~zcbench.engine.gpu.DeviceLost` when the device itself is gone.

    ``identity`` is what the worker reports about its device (GPU model, CUDA/cuDNN, TF32; {} on a CPU);
    ``memory()`` its peak memory after scoring (the parent checks that its workers fit on the GPU)."""

    def __init__(self, settings: RunSettings, device: str, threads: int = 1) -> None:
        import torch

        from ..proxies.plugins import load_plugins
        from .scorer import ArchScorer

        torch.set_num_threads(max(1, threads))
        pin_numerics()
        self.device = device
        self.identity = open_device(device)
        load_plugins(settings.plugins)
        check_codes(settings)
        self.scorer = ArchScorer(settings, device)

    def score(self, arch: str, proxies: Sequence[str]) -> Results:
        try:
            results = self.scorer.score(arch, proxies)
        except Exception as err:  # noqa: BLE001 - a bug in one arch must not stop the run
            results = failed_results(proxies, f"{type(err).__name__}: {err}".splitlines()[0])
        check_context(self.device, (e for _, _, e in results.values()))
        return results

    def memory(self) -> dict[str, int]:
        return memory_report(self.device)


DEFAULT_CORE: type[WorkerCore] = WorkerCore


@dataclass(frozen=True)
class WorkerStart:
    """What a spawned worker is given: its core, the run, the device by the user's name (``label``, for
    messages) and as the worker sees it (``device``: its one visible GPU is ``cuda:0``), its threads."""

    core_cls: type[WorkerCore]
    settings: RunSettings
    label: str
    device: str
    threads: int


def _start_core(start: WorkerStart, conn):
    """The worker's core, or None after sending the start-up error to the parent."""
    try:
        return start.core_cls(start.settings, start.device, start.threads)
    except ZcbenchError as err:
        text = str(err).replace(f"{start.device} cannot", f"{start.label} cannot", 1)
        conn.send(("fatal", type(err).__name__, text))
    except Exception as err:  # noqa: BLE001
        conn.send(("fatal", "EngineError", f"worker start-up on {start.label} failed: {type(err).__name__}: {err}"))
    return None


def worker_main(start: WorkerStart, conn) -> None:
    """Entry point of a spawned worker: start-up, then chunks of (arch, proxies) from the pipe until None
    or EOF. Messages: ``("ready", identity)``; per architecture ``("result", arch, results, memory)`` (its
    allocator's peak so far, {} on a CPU); ``("lost", arch, reason)`` before ending when the
    device's context died (that architecture's results are not sent: the parent retries it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent during spawn
    core = _start_core(start, conn)
    if core is None:
        return
    conn.send(("ready", getattr(core, "identity", {})))
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for arch, proxies in chunk:
            try:
                results = core.score(arch, proxies)
            except DeviceLost as err:
                conn.send(("lost", arch, str(err)))
                return
            try:
                conn.send(("result", arch, results, core.memory()))
            except OSError:
                return
