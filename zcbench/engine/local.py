"""The local pool: spawned worker processes pinned to devices, fed chunks of architectures by the parent.

Each worker is started with its GPU alone visible (``CUDA_VISIBLE_DEVICES``) and its thread pools sized
(``devices.worker_env``), so it never touches another GPU. The parent hands each idle worker a chunk
through the worker's own pipe and gets one message per finished architecture, so it always knows which
arch a worker is on; deaths, dead CUDA contexts and timeouts go to the shared
:class:`~zcbench.engine.faults.FaultPolicy`. On a GPU with several workers per device, one starts first;
the others start once its first architecture shows they fit in the GPU's memory
(:func:`~zcbench.engine.fleet.check_fit`). Results are written in batches by the
:class:`~zcbench.engine.recorder.RowWriter`, so a ``kill -9`` of anything loses at most the
architectures in flight.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait

from .. import errors
from ..errors import EngineError, ZcbenchError
from .devices import environment, local_device, worker_env
from .fleet import Fleet, WorkerPlan
from .worker import WorkerStart, worker_main

POLL_S = 0.2


@dataclass
class _Worker:
    device: str
    proc: mp.process.BaseProcess
    conn: object
    ready: bool = False
    chunk: deque = field(default_factory=deque)  # (arch, proxies) not yet returned, in order
    started: float = 0.0  # when the current arch began


class _Lost(Exception):
    """A worker reported that its device's context died (it ends); ``str`` is the reason."""


def _exit_reason(proc) -> str:
    code = proc.exitcode
    if code is None:
        return "worker died"
    if code < 0:
        try:
            return f"worker killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"worker killed by signal {-code}"
    return f"worker exited with code {code}"


def _script_hint() -> str:
    """Worker processes are spawned: they import the caller's script again, so a script that scores at
    import time (no ``if __name__ == "__main__":``) starts workers from every worker, which all die."""
    import sys

    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and not main_file.endswith(("zcbench/__main__.py", "zcbench/cli/__init__.py")):
        return f"; {main_file} is imported by each worker: put its code under if __name__ == '__main__':"
    return ""


def _fatal(msg: tuple) -> ZcbenchError:
    _, cls_name, text = msg
    cls = getattr(errors, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, ZcbenchError)):
        cls = EngineError
    return cls(text)


class LocalPool:
    """``plan.per_device`` spawned processes per device; the caller's store is the single writer."""

    def __init__(self, plan: WorkerPlan, fleet: Fleet) -> None:
        self.plan, self.fleet = plan, fleet
        self.policy, self.writer, self.stop = fleet.policy, fleet.writer, fleet.stop
        self.ctx = mp.get_context("spawn")
        self.workers: list[_Worker] = []
        self.waiting: dict[str, int] = {}  # device -> workers to start once the first one shows they fit
        self.startup_failures = 0

    # worker lifecycle
    def _start(self, device: str) -> _Worker:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        start = WorkerStart(self.plan.core_cls, self.plan.settings, device, local_device(device), self.plan.threads)
        name = f"zcbench-worker-{device}"
        proc = self.ctx.Process(target=worker_main, args=(start, child_end), daemon=True, name=name)
        # The child inherits a blocked SIGINT through fork+exec, so a Ctrl-C that reaches the whole
        # process group while it is still importing torch cannot kill it with a traceback.
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            with environment(worker_env(device, self.plan.threads)):  # read by the child before torch loads
                proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        child_end.close()  # so that the worker's death reads as EOF here
        w = _Worker(device, proc, parent_end)
        self.workers.append(w)
        return w

    def _discard(self, w: _Worker) -> None:
        if w.proc.is_alive():
            w.proc.kill()
        w.proc.join(timeout=5)
        try:
            w.conn.close()
        except OSError:
            pass
        if w in self.workers:
            self.workers.remove(w)

    def shutdown(self) -> None:
        for w in list(self.workers):
            self._discard(w)

    def _busy(self, pending: deque) -> bool:
        return bool(pending) or any(x.chunk for x in self.workers)

    def _replace(self, w: _Worker, pending: deque) -> None:
        if not self.stop.set and self._busy(pending):
            self._start(w.device)

    # running
    def run(self, todo: list[tuple[str, list[str]]]) -> None:
        """Score ``todo`` (or until stopped)."""
        if not todo:
            return
        devices = self.plan.devices
        n_total = len(devices) * self.plan.per_device
        size = max(1, min(8, len(todo) // (n_total * 4)))
        pending: deque = deque(todo[i : i + size] for i in range(0, len(todo), size))
        for d in devices:
            n = min(self.plan.per_device, max(1, len(todo) // len(devices)))
            first = 1 if d.startswith("cuda") else n  # on a GPU: the others once the first shows they fit
            for _ in range(first):
                self._start(d)
            self.waiting[d] = n - first
        try:
            while self._busy(pending) and not self.stop.set:
                self._step(pending)
        finally:
            self.shutdown()

    def _hand_out(self, pending: deque) -> None:
        now = time.monotonic()
        for w in self.workers:
            if w.ready and not w.chunk and pending:
                chunk = pending.popleft()
                try:
                    w.conn.send(chunk)
                except OSError:
                    pending.appendleft(chunk)
                    continue
                w.chunk.extend(chunk)
                w.started = now

    def _receive(self, w: _Worker, pending: deque) -> None:
        """Read every message a worker has sent; raises the error a worker reported at start-up, and _Lost."""
        while w.conn.poll():
            msg = w.conn.recv()
            if msg[0] == "ready":
                w.ready = True
                self.fleet.ready(w.device, msg[1])
            elif msg[0] == "result":
                self._result(w, msg, pending)
            elif msg[0] == "lost":
                raise _Lost(msg[2])
            elif msg[0] == "fatal":
                self.writer.flush()
                raise _fatal(msg)

    def _result(self, w: _Worker, msg: tuple, pending: deque) -> None:
        _, arch, results, memory = msg
        if not w.chunk or w.chunk[0][0] != arch:  # cannot happen with one pipe per worker
            raise RuntimeError(f"worker returned {arch!r} out of order")
        w.chunk.popleft()
        w.started = time.monotonic()
        self.policy.succeeded(arch)
        self.writer.add(arch, results)
        try:
            start_rest = self.fleet.measured(w.device, memory)
        except ZcbenchError:
            self.writer.flush()
            raise
        if start_rest:
            for _ in range(self.waiting.pop(w.device, 0)):
                if self._busy(pending):
                    self._start(w.device)

    def _step(self, pending: deque) -> None:
        self._hand_out(pending)
        mp_wait([w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers], timeout=POLL_S)
        for w in list(self.workers):
            reason = None
            try:
                self._receive(w, pending)
            except _Lost as lost:
                reason = f"{lost} (CUDA context lost)"
            except (EOFError, OSError):
                reason = _exit_reason(w.proc)
            if reason is None and not w.proc.is_alive():
                w.proc.join(timeout=1)
                if w.conn.poll():  # exited: read anything it sent before dying on the next round
                    continue
                reason = _exit_reason(w.proc)
            if reason is not None:
                self._died(w, reason, pending)
        now = time.monotonic()
        for w in list(self.workers):
            if w.ready and w.chunk and self.policy.overdue(w.started, now):
                self._discard(w)
                arch, proxies = w.chunk.popleft()
                self._requeue_rest(w, pending)
                self.writer.add(arch, self.policy.timed_out(arch, proxies))
                self._replace(w, pending)
        self.writer.flush()

    def _requeue_rest(self, w: _Worker, pending: deque) -> None:
        rest = list(w.chunk)
        w.chunk.clear()
        if rest:
            pending.appendleft(rest)

    def _died(self, w: _Worker, reason: str, pending: deque) -> None:
        self._discard(w)
        if not w.ready:
            self.startup_failures += 1
            if self.startup_failures >= 2 * len(self.plan.devices) * self.plan.per_device + 1:
                self.writer.flush()
                raise EngineError(f"workers keep dying at start-up on {w.device} ({reason}){_script_hint()}")
        if w.chunk:
            arch, proxies = w.chunk.popleft()
            self._requeue_rest(w, pending)
            failed = self.policy.died(arch, proxies, reason)
            if failed is None:
                pending.appendleft([(arch, proxies)])  # retried once, alone
            else:
                self.writer.add(arch, failed)
        self._replace(w, pending)
