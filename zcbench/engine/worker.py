"""What one worker is: torch pinned to a device, the run's plugins loaded, its minibatch built once.

The same :class:`WorkerCore` runs in-process (no workers), in a spawned process and in a Ray actor.
``ZCBENCH_WORKER_THREADS`` sets torch's intra-op threads per worker (default 1: a float reduction can
differ in the last bit between thread counts, and a score must not depend on the worker count; on a
CPU use as many workers as cores). Tests replace the core through ``DEFAULT_CORE`` (see
``zcbench.testing.inject``); production code never does.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from ..errors import UsageError, ZcbenchError
from ..settings import RunSettings
from .faults import Results, failed_results

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
    """One worker's state; :meth:`score` never raises for a problem of one architecture."""

    def __init__(self, settings: RunSettings, device: str, threads: int = 1) -> None:
        import torch

        from ..proxies.plugins import load_plugins
        from .scorer import ArchScorer

        torch.set_num_threads(max(1, threads))
        if device.startswith("cuda"):
            torch.cuda.set_device(torch.device(device))
        load_plugins(settings.plugins)
        check_codes(settings)
        self.scorer = ArchScorer(settings, device)

    def score(self, arch: str, proxies: Sequence[str]) -> Results:
        try:
            return self.scorer.score(arch, proxies)
        except Exception as err:  # noqa: BLE001 - a bug in one arch must not stop the run
            return failed_results(proxies, f"{type(err).__name__}: {err}".splitlines()[0])


DEFAULT_CORE: type[WorkerCore] = WorkerCore


def worker_main(core_cls: type[WorkerCore], settings: RunSettings, device: str, threads: int, conn) -> None:
    """Entry point of a spawned worker: start-up, then chunks of (arch, proxies) from the pipe until None
    or EOF; one ``("result", arch, results)`` message per architecture."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent during spawn
    try:
        core = core_cls(settings, device, threads)
    except ZcbenchError as err:
        conn.send(("fatal", type(err).__name__, str(err)))
        return
    except Exception as err:  # noqa: BLE001
        conn.send(("fatal", "EngineError", f"worker start-up on {device} failed: {type(err).__name__}: {err}"))
        return
    conn.send(("ready",))
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for arch, proxies in chunk:
            results = core.score(arch, proxies)
            try:
                conn.send(("result", arch, results))
            except OSError:
                return
