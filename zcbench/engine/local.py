"""The local pool: spawned worker processes pinned to devices, fed chunks of architectures by the parent.

The parent hands each idle worker a chunk through the worker's own pipe and gets one message per
finished architecture, so it always knows which arch a worker is on; deaths and timeouts go to the
shared :class:`~zcbench.engine.faults.FaultPolicy`. Results are written in batches by the
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
from ..settings import RunSettings
from .faults import FaultPolicy
from .monitor import StopFlag
from .recorder import RowWriter
from .worker import WorkerCore, worker_main

POLL_S = 0.2


@dataclass
class _Worker:
    device: str
    proc: mp.process.BaseProcess
    conn: object
    ready: bool = False
    chunk: deque = field(default_factory=deque)  # (arch, proxies) not yet returned, in order
    started: float = 0.0  # when the current arch began


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


class LocalPool:
    """``workers`` spawned processes per device; the caller's store is the single writer."""

    def __init__(
        self,
        settings: RunSettings,
        devices: list[str],
        workers: int,
        threads: int,
        policy: FaultPolicy,
        writer: RowWriter,
        stop: StopFlag,
        core_cls: type[WorkerCore],
    ) -> None:
        self.settings, self.devices, self.n_per_device, self.threads = settings, devices, workers, threads
        self.policy, self.writer, self.stop, self.core_cls = policy, writer, stop, core_cls
        self.ctx = mp.get_context("spawn")
        self.workers: list[_Worker] = []
        self.startup_failures = 0

    # worker lifecycle
    def _start(self, device: str) -> _Worker:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(
            target=worker_main,
            args=(self.core_cls, self.settings, device, self.threads, child_end),
            daemon=True,
            name=f"zcbench-worker-{device}",
        )
        # The child inherits a blocked SIGINT through fork+exec, so a Ctrl-C that reaches the whole
        # process group while it is still importing torch cannot kill it with a traceback.
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
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

    def _replace(self, w: _Worker, pending: deque) -> None:
        if not self.stop.set and (pending or any(x.chunk for x in self.workers)):
            self._start(w.device)

    # running
    def run(self, todo: list[tuple[str, list[str]]]) -> None:
        """Score ``todo`` (or until stopped)."""
        if not todo:
            return
        n_total = len(self.devices) * self.n_per_device
        size = max(1, min(8, len(todo) // (n_total * 4)))
        pending: deque = deque(todo[i : i + size] for i in range(0, len(todo), size))
        for d in self.devices:
            for _ in range(min(self.n_per_device, max(1, len(todo) // len(self.devices)))):
                self._start(d)
        try:
            while (pending or any(w.chunk for w in self.workers)) and not self.stop.set:
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

    def _receive(self, w: _Worker) -> None:
        """Read every message a worker has sent; raises the error a worker reported at start-up."""
        while w.conn.poll():
            msg = w.conn.recv()
            if msg[0] == "ready":
                w.ready = True
            elif msg[0] == "result":
                _, arch, results = msg
                if not w.chunk or w.chunk[0][0] != arch:  # cannot happen with one pipe per worker
                    raise RuntimeError(f"worker returned {arch!r} out of order")
                w.chunk.popleft()
                w.started = time.monotonic()
                self.policy.succeeded(arch)
                self.writer.add(arch, results)
            elif msg[0] == "fatal":
                _, cls_name, text = msg
                cls = getattr(errors, cls_name, None)
                if not (isinstance(cls, type) and issubclass(cls, ZcbenchError)):
                    cls = EngineError
                self.writer.flush()
                raise cls(text)

    def _step(self, pending: deque) -> None:
        self._hand_out(pending)
        mp_wait([w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers], timeout=POLL_S)
        for w in list(self.workers):
            try:
                self._receive(w)
                dead = False
            except (EOFError, OSError):
                dead = True
            if dead or not w.proc.is_alive():
                if not dead:  # exited: read anything it sent before dying on the next round
                    w.proc.join(timeout=1)
                    if w.conn.poll():
                        continue
                self._died(w, _exit_reason(w.proc), pending)
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
            if self.startup_failures >= 2 * len(self.devices) * self.n_per_device + 1:
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
