"""``--executor ray``: one actor per worker on a Ray cluster (``$RAY_ADDRESS``, else a local Ray).

Each actor runs the same :class:`~zcbench.engine.worker.WorkerCore` as a local worker and takes one
architecture at a time, so the shared :class:`~zcbench.engine.faults.FaultPolicy` applies unchanged: a
dead actor (or one whose CUDA context died) is replaced and its arch retried once, a slow one is killed at
the timeout. With ``--device cuda``, ``--workers N`` is the number of actors per GPU, each holding ``1/N``
of one (0: one per GPU), and Ray gives each actor its GPU alone (``CUDA_VISIBLE_DEVICES``); as locally, one
actor starts first and the others once its first architecture shows they fit in the GPU's memory. With
``--device cpu`` it is the number of actors (0: one per CPU of the cluster).
"""

from __future__ import annotations

import math
import os
import re
import signal
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import EngineError, UsageError
from ..settings import RunSettings
from .devices import worker_env
from .faults import failed_results
from .fleet import Fleet, WorkerPlan
from .gpu import DeviceLost
from .worker import WorkerCore

POLL_S = 0.2


class RayWorker:
    """Ray actor body: the very same core as a local worker process."""

    def __init__(self, core_cls: type[WorkerCore], settings: RunSettings, device: str, threads: int) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.core = core_cls(settings, device, threads)

    def ready(self) -> dict[str, str]:
        """The device identity the worker reports ({} on a CPU)."""
        return getattr(self.core, "identity", {})

    def score(self, arch: str, proxies: Sequence[str]) -> tuple[str, object, dict]:
        """``("ok", results, memory)``, or ``("lost", reason, {})`` when the CUDA context died: the parent
        then kills this actor and retries the architecture on a new one."""
        try:
            results = self.core.score(arch, proxies)
        except DeviceLost as err:
            return "lost", str(err), {}
        return "ok", results, self.core.memory()


def _ray_reason(err: BaseException) -> str:
    """One line out of a Ray exception (they carry whole remote tracebacks)."""
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", ln):
            return ln
    return lines[-1] if lines else type(err).__name__


def gpu_share(per_gpu: int) -> float:
    """Each actor's ``num_gpus`` for ``per_gpu`` actors on one GPU (Ray counts to 1e-4: rounded down)."""
    return math.floor(10_000 / max(1, per_gpu)) / 10_000


@dataclass
class _Inflight:
    actor: object
    arch: str
    proxies: list[str]
    since: float


@dataclass
class _Session:
    """One run's actors and work: pending archs, those in flight by object ref, idle actors."""

    pending: deque
    inflight: dict = field(default_factory=dict)  # ref -> _Inflight
    idle: list = field(default_factory=list)
    actors: list = field(default_factory=list)
    waiting: int = 0  # actors to start once the first one's memory shows they fit


class RayPool:
    def __init__(self, plan: WorkerPlan, fleet: Fleet) -> None:
        self.plan, self.fleet = plan, fleet
        self.device = plan.devices[0]
        self.gpu = self.device != "cpu"

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
        self.ray = ray
        try:
            self._run(todo)
        finally:
            if started_ray:
                ray.shutdown()

    # -- set-up ---------------------------------------------------------------------------------------
    def _actor_count(self, n_todo: int) -> int:
        """How many actors: per GPU times the cluster's GPUs, or up to the cluster's CPUs."""
        resource = "GPU" if self.gpu else "CPU"
        avail = int(self.ray.cluster_resources().get(resource, 0))
        if avail < 1:
            raise UsageError(f"the Ray cluster has no {resource} for --device {self.device}")
        if self.gpu:
            return max(1, min(max(1, self.plan.per_device) * avail, n_todo))
        n = max(1, min(self.plan.per_device or avail, avail, n_todo))
        if self.plan.per_device > n:
            self.fleet.log(f"using {n} Ray workers (the cluster has {avail} {resource}s)")
        return n

    def _actor_class(self):
        share = gpu_share(self.plan.per_device) if self.gpu else 0
        env = worker_env(self.device, self.plan.threads)  # Ray sets each actor's CUDA_VISIBLE_DEVICES itself
        return self.ray.remote(num_gpus=share, num_cpus=0 if self.gpu else 1, max_restarts=0)(RayWorker).options(
            runtime_env={"env_vars": env}
        )

    def _start(self, s: _Session) -> None:
        device = "cuda:0" if self.gpu else "cpu"  # the actor's one visible GPU
        a = self.actor_cls.remote(self.plan.core_cls, self.plan.settings, device, self.plan.threads)
        s.actors.append(a)
        try:
            identity = self.ray.get(a.ready.remote())
        except Exception as err:  # noqa: BLE001 - start-up failure: no point going on
            raise EngineError(f"Ray worker start-up failed: {_ray_reason(err)}") from None
        self.fleet.ready(self.device, identity)
        s.idle.append(a)

    # -- the loop -------------------------------------------------------------------------------------
    def _run(self, todo: list[tuple[str, list[str]]]) -> None:
        n = self._actor_count(len(todo))
        self.actor_cls = self._actor_class()
        s = _Session(deque(todo))
        first = 1 if self.gpu else n  # on GPUs: the others once the first shows they fit
        s.waiting = n - first
        try:
            for _ in range(first):
                self._start(s)
            while (s.pending or s.inflight) and not self.fleet.stop.set:
                self._submit(s)
                ready, _ = self.ray.wait(list(s.inflight), num_returns=1, timeout=POLL_S)
                if ready:
                    ready, _ = self.ray.wait(list(s.inflight), num_returns=len(s.inflight), timeout=0)
                for ref in ready:
                    self._collect(s, ref)
                self._time_out(s)
                self.fleet.writer.flush()
        finally:
            for a in s.actors:
                try:
                    self.ray.kill(a)
                except Exception:  # noqa: BLE001 - already gone
                    pass

    def _submit(self, s: _Session) -> None:
        now = time.monotonic()
        while s.idle and s.pending:
            a = s.idle.pop()
            arch, proxies = s.pending.popleft()
            s.inflight[a.score.remote(arch, proxies)] = _Inflight(a, arch, proxies, now)

    def _collect(self, s: _Session, ref) -> None:
        job = s.inflight.pop(ref)
        try:
            status, value, memory = self.ray.get(ref)
        except self.ray.exceptions.RayActorError:
            self._died(s, job, "worker died")
            return
        except self.ray.exceptions.RayError as err:
            status, value, memory = "ok", failed_results(job.proxies, _ray_reason(err)), {}
        if status == "lost":
            self._kill(job.actor)
            self._died(s, job, f"{value} (CUDA context lost)")
            return
        self.fleet.policy.succeeded(job.arch)
        self.fleet.writer.add(job.arch, value)
        s.idle.append(job.actor)
        try:
            start_rest = self.fleet.measured(self.device, memory)
        except Exception:
            self.fleet.writer.flush()
            raise
        if start_rest:
            for _ in range(s.waiting):
                self._start(s)
            s.waiting = 0

    def _died(self, s: _Session, job: _Inflight, reason: str) -> None:
        failed = self.fleet.policy.died(job.arch, job.proxies, reason)
        if failed is None:
            s.pending.appendleft((job.arch, job.proxies))
        else:
            self.fleet.writer.add(job.arch, failed)
        if s.pending or s.inflight:
            self._start(s)

    def _time_out(self, s: _Session) -> None:
        now = time.monotonic()
        for ref, job in list(s.inflight.items()):
            if self.fleet.policy.overdue(job.since, now):
                s.inflight.pop(ref)
                self._kill(job.actor)
                self.fleet.writer.add(job.arch, self.fleet.policy.timed_out(job.arch, job.proxies))
                if s.pending or s.inflight:
                    self._start(s)

    def _kill(self, actor) -> None:
        try:
            self.ray.kill(actor)
        except Exception:  # noqa: BLE001 - already gone
            pass
