"""A score run from start to end: check, plan, open the store, run an executor, summarise.

Order matters for the user: everything that can be refused is refused before the store is opened or a
worker spawned (settings, devices, output, data, dump, architectures, identity of cached runs); the
store is created only when the first row is kept; Ctrl-C or SIGTERM save what finished and end with
:class:`~zcbench.errors.Interrupted` (exit 130).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Interrupted, UsageError
from ..outputs import check_writable
from ..settings import DEFAULT_RESULTS, ArchSelection, Execution, RunSettings
from ..store import ResultStore, check_results_file
from .devices import check_device_spec, resolve_devices
from .faults import FaultPolicy
from .fleet import Fleet, WorkerPlan
from .monitor import Progress, StopFlag
from .plan import plan_run
from .recorder import RowWriter
from .worker import WorkerCore, worker_threads


@dataclass
class RunSummary:
    """What a score run did, in total and per stored proxy."""

    scored: int  # architectures recorded in this run
    cached: int  # architectures with nothing left to do
    failed: int  # recorded architectures with at least one failed proxy
    proxies: int  # stored runs (vote counts as its inputs)
    seconds: float
    out: str
    shard: tuple[int, int] | None = None
    retried: int = 0
    notes: tuple[str, ...] = ()
    written: bool = True  # False when there was nothing to store and no results file exists
    # stored proxy -> (architectures scored in this run, of which failed, architectures already stored)
    per_proxy: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def proxy_parts(self) -> list[str]:
        """``params: 20 scored, 1 failed`` / ``synflow: 20 cached`` per proxy, in the run's order."""
        parts = []
        for proxy, (scored, failed, cached) in self.per_proxy.items():
            what = [f"{scored} scored"] if scored or not cached else []
            what += [f"{failed} failed"] if failed else []
            what += [f"{cached} cached"] if cached else []
            parts.append(f"{proxy}: {', '.join(what)}")
        return parts

    peak_memory: int = 0  # bytes: the most GPU memory one worker's allocator held (0 on CPUs)

    def line(self) -> str:
        shard = f"[shard {self.shard[0]}/{self.shard[1]}] " if self.shard else ""
        retried = f" ({self.retried} failed architectures retried)" if self.retried else ""
        dest = self.out if self.written else f"nothing to write, {self.out} not created"
        return f"{shard}{'; '.join(self.proxy_parts())}{retried} in {self.seconds:.1f}s -> {dest}"


def _per_proxy(plan, writer: RowWriter) -> dict[str, tuple[int, int, int]]:
    out = {}
    for proxy in plan.settings.stored_proxies():
        todo = sum(proxy in p for p in plan.todo.values())
        scored, failed = writer.per_proxy.get(proxy, (0, 0))
        out[proxy] = (scored, failed, len(plan.archs) - todo)
    return out


def _interrupted(signal: str, saved: int, out: Path) -> Interrupted:
    if not out.exists():
        what = f"nothing saved, {out} not created"
    elif not saved:
        what = f"nothing new saved to {out}"
    else:
        what = f"{saved} architectures saved to {out}"
    return Interrupted(f"interrupted ({signal}): {what}; run the same command again to resume")


def run_scoring(
    settings: RunSettings,
    selection: ArchSelection | None = None,
    execution: Execution | None = None,
    out: str | Path = DEFAULT_RESULTS,
    *,
    retry_failed: bool = False,
    allow_mixed: bool = False,
    log=None,
    core_cls: type[WorkerCore] | None = None,
) -> RunSummary:
    """Plan, score and store; raises :class:`Interrupted` (exit 130) after saving on Ctrl-C."""
    from . import worker as _worker

    execution = (execution or Execution()).validated()
    check_device_spec(execution.device)
    if execution.executor == "ray":  # Ray places actors on the cluster's devices, not this machine's
        devices = [execution.device]
    else:
        devices = resolve_devices(execution.device)
        if execution.workers == 0 and len(devices) > 1:
            raise UsageError(f"--device {execution.device} names several devices: give --workers N (per device)")
    out = Path(out)
    check_results_file(out)
    check_writable(out, "results file")
    t0 = time.perf_counter()
    device_label = ",".join(devices)
    plan = plan_run(
        settings,
        selection,
        out,
        retry_failed=retry_failed,
        allow_mixed=allow_mixed,
        shard=execution.shard,
        device=device_label,
    )
    settings = plan.settings
    core_cls = core_cls or _worker.DEFAULT_CORE
    todo = list(plan.todo.items())
    stop = StopFlag()
    bar = Progress(len(todo), execution.quiet)
    log = log or bar.log
    for note in settings.notes:
        log(note)
    policy = FaultPolicy(execution.timeout, log)
    workers = WorkerPlan(settings, tuple(devices), execution.workers, worker_threads(), core_cls)
    try:
        with ResultStore(out, allow_mixed=allow_mixed) as store:
            writer = RowWriter(plan, store, bar)
            fleet = Fleet(policy, writer, stop, log, per_device=max(1, execution.workers))
            stop.install()
            _execute(execution, workers, fleet, todo)
            writer.flush()
    finally:
        stop.restore()
        bar.close()
    summary = RunSummary(
        writer.done,
        len(plan.archs) - len(plan.todo),
        writer.failed,
        len(settings.stored_proxies()),
        time.perf_counter() - t0,
        str(out),
        execution.shard,
        plan.retried,
        settings.notes,
        out.exists(),
        _per_proxy(plan, writer),
        fleet.peak,
    )
    if stop.set:
        raise _interrupted(stop.signal, writer.done, out)
    return summary


def _execute(execution: Execution, workers: WorkerPlan, fleet: Fleet, todo: list) -> None:
    """Run ``todo`` on the executor ``execution`` names: Ray actors, this process, or local workers."""
    if execution.executor == "ray":
        from .ray_pool import RayPool

        RayPool(workers, fleet).run(todo)
    elif execution.workers == 0:
        from .serial import run_serial

        run_serial(workers, fleet, todo)
    else:
        from .local import LocalPool

        LocalPool(workers, fleet).run(todo)
