"""``--executor ray``: one actor per worker on a Ray cluster (``$RAY_ADDRESS``, else a local Ray).

Each actor runs the same :class:`~zcbench.engine.worker.WorkerCore` as a local worker and takes one
architecture at a time, so the shared :class:`~zcbench.engine.faults.FaultPolicy` applies unchanged: a
dead actor is replaced and its arch retried once, a slow one is killed at the timeout.
``--device cuda`` gives each actor one GPU; ``--workers N`` is the number of actors (0: one per CPU, or
per GPU, of the cluster).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections import deque
from collections.abc import Sequence

from ..errors import EngineError, UsageError
from ..settings import RunSettings
from .faults import FaultPolicy
from .monitor import StopFlag
from .recorder import RowWriter
from .worker import WorkerCore

POLL_S = 0.2


class RayWorker:
    """Ray actor body: the very same core as a local worker process."""

    def __init__(self, core_cls: type[WorkerCore], settings: RunSettings, device: str, threads: int) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.core = core_cls(settings, device, threads)

    def ready(self) -> bool:
        return True

    def score(self, arch: str, proxies: Sequence[str]):
        return self.core.score(arch, proxies)


def _ray_reason(err: BaseException) -> str:
    """One line out of a Ray exception (they carry whole remote tracebacks)."""
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", ln):
            return ln
    return lines[-1] if lines else type(err).__name__


class RayPool:
    def __init__(
        self,
        settings: RunSettings,
        device: str,
        workers: int,
        threads: int,
        policy: FaultPolicy,
        writer: RowWriter,
        stop: StopFlag,
        core_cls: type[WorkerCore],
        log,
    ) -> None:
        self.settings, self.device, self.n, self.threads = settings, device, workers, threads
        self.policy, self.writer, self.stop, self.core_cls, self.log = policy, writer, stop, core_cls, log

    def run(self, todo: list[tuple[str, list[str]]]) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("--executor ray needs Ray: pip install 'zcbench[ray]'") from None
        if not todo:
            return
        started_ray = not ray.is_initialized()
        if started_ray:
            ray.init(
                address=os.environ.get("RAY_ADDRESS") or None,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
            )
        try:
            self._run(ray, todo)
        finally:
            if started_ray:
                ray.shutdown()

    def _run(self, ray, todo: list[tuple[str, list[str]]]) -> None:
        gpu = self.device != "cpu"
        resource = "GPU" if gpu else "CPU"
        avail = int(ray.cluster_resources().get(resource, 0))
        if avail < 1:
            raise UsageError(f"the Ray cluster has no {resource} for --device {self.device}")
        n = max(1, min(self.n or avail, avail, len(todo)))
        if self.n > n:
            self.log(f"using {n} Ray workers (the cluster has {avail} {resource}s)")
        actor_cls = ray.remote(num_gpus=1 if gpu else 0, num_cpus=0 if gpu else 1, max_restarts=0)(RayWorker)
        device = "cuda:0" if gpu else "cpu"  # Ray gives each actor its own CUDA_VISIBLE_DEVICES
        actors: list = []

        def start() -> object:
            a = actor_cls.remote(self.core_cls, self.settings, device, self.threads)
            actors.append(a)
            try:
                ray.get(a.ready.remote())
            except Exception as err:  # noqa: BLE001 - start-up failure: no point going on
                raise EngineError(f"Ray worker start-up failed: {_ray_reason(err)}") from None
            return a

        pending: deque = deque(todo)
        inflight: dict = {}  # ref -> (actor, arch, proxies, submitted)
        try:
            idle = [start() for _ in range(n)]
            while (pending or inflight) and not self.stop.set:
                now = time.monotonic()
                while idle and pending:
                    a = idle.pop()
                    arch, proxies = pending.popleft()
                    inflight[a.score.remote(arch, proxies)] = (a, arch, proxies, now)
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
                if ready:
                    ready, _ = ray.wait(list(inflight), num_returns=len(inflight), timeout=0)
                for ref in ready:
                    a, arch, proxies, _ = inflight.pop(ref)
                    try:
                        results = ray.get(ref)
                    except ray.exceptions.RayActorError:
                        failed = self.policy.died(arch, proxies, "worker died")
                        if failed is None:
                            pending.appendleft((arch, proxies))
                        else:
                            self.writer.add(arch, failed)
                        if pending or inflight:
                            idle.append(start())
                        continue
                    except ray.exceptions.RayError as err:
                        from .faults import failed_results

                        results = failed_results(proxies, _ray_reason(err))
                    self.policy.succeeded(arch)
                    self.writer.add(arch, results)
                    idle.append(a)
                now = time.monotonic()
                for ref, (a, arch, proxies, t0) in list(inflight.items()):
                    if self.policy.overdue(t0, now):
                        inflight.pop(ref)
                        ray.kill(a)
                        self.writer.add(arch, self.policy.timed_out(arch, proxies))
                        if pending or inflight:
                            idle.append(start())
                self.writer.flush()
        finally:
            for a in actors:
                try:
                    ray.kill(a)
                except Exception:  # noqa: BLE001 - already gone
                    pass
