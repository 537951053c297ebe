"""Running a planned score job: devices, worker processes, faults, progress, and the single writer.

The parent process owns the :class:`ResultStore` and is the only writer. Work is scored in this
process (``workers=0``), by a pool of spawned worker processes pinned to devices (:class:`Engine`), or
by Ray actors (``executor='ray'``, :class:`RayEngine`). Every worker runs the same
:class:`WorkerCore`: it builds the run's minibatch once and scores one architecture at a time from
a seed derived from the run seed and the arch, so scores do not depend on workers, order or resume.

Fault model (local pool): the parent hands each idle worker a chunk of architectures through the
worker's own pipe and gets one message per finished architecture, so it always knows which arch a
worker is on. A worker that dies is replaced; the arch it was on is retried once on its own, and
recorded as failed with the reason if it kills a worker again. An arch running longer than
``timeout`` gets its worker killed and replaced and is recorded as ``timeout after Ns``. Results are
written in batches, each made durable at once (journal + fsync), so a ``kill -9`` of anything loses
at most the architectures in flight. SIGINT/SIGTERM stop the hand-out, keep what finished and exit
130 with one line.

Test-only hooks (environment of the worker): ``ZCBENCH_TEST_CRASH_ARCH=<arch>`` makes the worker
``os._exit(1)`` when it reaches that arch (with ``ZCBENCH_TEST_CRASH_ONCE=<file>``: only while the
file does not exist, creating it), ``ZCBENCH_TEST_SLEEP_ARCH=<arch>`` plus
``ZCBENCH_TEST_SLEEP_SECONDS`` makes it sleep there. ``ZCBENCH_WORKER_THREADS`` sets torch's
intra-op threads per worker (default 1, so a score never depends on the worker count; on CPU use
as many workers as cores).
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing as mp
import os
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait

from tqdm import tqdm

from . import errors
from .errors import UsageError, ZcbenchError
from .scoring import ArchScorer, Plan, RunSettings, plan_run, rows_for, run_serial
from .store import ResultStore, Row, RunInfo, RunKey

CRASH_ENV = "ZCBENCH_TEST_CRASH_ARCH"
CRASH_ONCE_ENV = "ZCBENCH_TEST_CRASH_ONCE"
SLEEP_ENV = "ZCBENCH_TEST_SLEEP_ARCH"
SLEEP_SECONDS_ENV = "ZCBENCH_TEST_SLEEP_SECONDS"
THREADS_ENV = "ZCBENCH_WORKER_THREADS"
MAX_DEATHS = 2  # an arch whose worker died this many times is recorded as failed
POLL_S = 0.2


class EngineError(ZcbenchError):
    """Workers cannot run at all (e.g. they die at start-up)."""


class Interrupted(ZcbenchError):
    """Ctrl-C / SIGTERM: finished work is saved; the message says how to resume."""

    exit_code = 130


# -- devices and shards --------------------------------------------------------------------------
_CUDA_RE = re.compile(r"^cuda:(\d+)$")


def resolve_devices(spec: str) -> list[str]:
    """``cpu`` | ``cuda:0`` | ``cuda:0,cuda:1`` | ``cuda`` (every visible GPU) → device strings."""
    parts = [p.strip() for p in str(spec).split(",") if p.strip()]
    if not parts:
        raise UsageError("--device is empty (use cpu, cuda, cuda:0 or cuda:0,cuda:1)")
    if parts == ["cpu"]:
        return ["cpu"]
    for p in parts:
        if p != "cuda" and not _CUDA_RE.match(p):
            raise UsageError(f"--device {spec}: cannot use {p!r} here (use cpu, cuda, cuda:0 or cuda:0,cuda:1)")
    if "cuda" in parts and len(parts) > 1:
        raise UsageError(f"--device {spec}: 'cuda' already means every GPU; list cuda:N devices instead")
    import torch

    if not torch.cuda.is_available():
        raise UsageError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
    n = torch.cuda.device_count()
    if parts == ["cuda"]:
        return [f"cuda:{i}" for i in range(n)]
    out = []
    for p in parts:
        i = int(_CUDA_RE.match(p).group(1))
        if i >= n:
            raise UsageError(f"--device {p}: only {n} GPU(s) visible (cuda:0..cuda:{n - 1})")
        if p not in out:
            out.append(p)
    return out


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``'i/n'`` (0 <= i < n) → (i, n); None stays None."""
    if text is None:
        return None
    m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", str(text))
    if not m:
        raise UsageError(f"--shard wants i/n (e.g. 0/4), got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or i >= n:
        raise UsageError(f"--shard {text}: i must be in 0..n-1 and n >= 1")
    return i, n


def shard_of(arch: str, n: int) -> int:
    """Which of ``n`` shards an arch belongs to: by hash, so it depends on nothing but the arch."""
    return int.from_bytes(hashlib.sha256(arch.encode()).digest()[:8], "big") % n


def apply_shard(plan: Plan, shard: tuple[int, int] | None) -> Plan:
    if shard is None:
        return plan
    i, n = shard
    plan.archs = [a for a in plan.archs if shard_of(a, n) == i]
    plan.todo = {a: p for a, p in plan.todo.items() if shard_of(a, n) == i}
    return plan


# -- what one worker does ------------------------------------------------------------------------
def _test_hooks(arch: str) -> None:
    """Test-only fault injection (see module docstring); inert unless the variables are set."""
    if os.environ.get(CRASH_ENV) == arch:
        marker = os.environ.get(CRASH_ONCE_ENV)
        if not marker or not os.path.exists(marker):
            if marker:
                open(marker, "w").close()
            os._exit(1)
    if os.environ.get(SLEEP_ENV) == arch:
        time.sleep(float(os.environ.get(SLEEP_SECONDS_ENV, "3600")))


def failed_results(proxies: Sequence[str], reason: str) -> dict[str, tuple[float, float, str]]:
    return {p: (math.nan, 0.0, reason) for p in proxies}


class WorkerCore:
    """One worker's state: torch pinned to its device, the run's minibatch built once."""

    def __init__(self, settings: RunSettings, device: str, threads: int = 1) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        if device.startswith("cuda"):
            torch.cuda.set_device(torch.device(device))
        settings = RunSettings(**{**settings.__dict__, "device": device})
        self.scorer = ArchScorer(settings)

    def score(self, arch: str, proxies: Sequence[str]) -> dict[str, tuple[float, float, str]]:
        _test_hooks(arch)
        try:
            return self.scorer.score(arch, proxies)
        except Exception as err:  # noqa: BLE001 - a bug in one arch must not stop the run
            return failed_results(proxies, f"{type(err).__name__}: {err}".splitlines()[0])


def worker_threads() -> int:
    try:
        return max(1, int(os.environ.get(THREADS_ENV, "1")))
    except ValueError:
        raise UsageError(f"${THREADS_ENV} must be an integer") from None


def _worker_main(settings: RunSettings, device: str, threads: int, conn) -> None:
    """Entry point of a spawned worker: start-up, then chunks from the pipe until None or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent during spawn
    try:
        core = WorkerCore(settings, device, threads)
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


# -- the local pool ------------------------------------------------------------------------------
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


class StopFlag:
    """Set by SIGINT/SIGTERM; the engine checks it between batches."""

    def __init__(self) -> None:
        self.set = False
        self.signal = ""
        self._old: dict[int, object] = {}

    def install(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.set = True
        self.signal = signal.Signals(signum).name

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


class Engine:
    """Distributes a plan over worker processes; the caller's store is the single writer."""

    def __init__(
        self,
        plan: Plan,
        store: ResultStore,
        devices: list[str],
        workers: int,
        timeout: float | None = None,
        progress: Callable[[int, int], None] | None = None,
        log: Callable[[str], None] | None = None,
        stop: StopFlag | None = None,
    ) -> None:
        self.plan, self.store, self.devices, self.n_per_device = plan, store, devices, workers
        self.timeout, self.stop = timeout, stop or StopFlag()
        self.progress = progress or (lambda n, f: None)
        self.log = log or (lambda s: None)
        self.settings = plan.settings
        self.info: RunInfo = plan.settings.run_info()
        self.threads = worker_threads()
        self.ctx = mp.get_context("spawn")
        self.workers: list[_Worker] = []
        self.deaths: dict[str, int] = {}
        self.startup_failures = 0
        self.done = 0

    # worker lifecycle
    def _start(self, device: str) -> _Worker:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(
            target=_worker_main,
            args=(self.settings, device, self.threads, child_end),
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

    def _discard(self, w: _Worker, kill: bool) -> None:
        if kill and w.proc.is_alive():
            w.proc.kill()
        w.proc.join(timeout=5)
        try:
            w.conn.close()
        except OSError:
            pass
        if w in self.workers:
            self.workers.remove(w)

    def shutdown(self, kill: bool = False) -> None:
        for w in list(self.workers):
            if not kill:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + (0 if kill else 5)
        for w in list(self.workers):
            if not kill:
                w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            self._discard(w, kill=True)

    # recording
    def _rows(self, arch: str, results) -> list[tuple[RunKey, RunInfo, Row]]:
        return [(self.settings.run_key(p), self.info, row) for p, row in rows_for(self.plan, arch, results).items()]

    def _lost(self, w: _Worker, reason: str, pending: deque, batch: list, timed_out: bool) -> None:
        """The worker is gone: decide what happens to the arch it was on and to the rest of its chunk."""
        if not w.chunk:
            return
        arch, proxies = w.chunk.popleft()
        rest = list(w.chunk)
        w.chunk.clear()
        if rest:
            pending.appendleft(rest)
        if timed_out:
            batch.extend(self._rows(arch, failed_results(proxies, reason)))
            self.log(f"{arch}: {reason}; worker replaced")
            return
        self.deaths[arch] = self.deaths.get(arch, 0) + 1
        if self.deaths[arch] >= MAX_DEATHS:
            msg = f"{reason} ({self.deaths[arch]} times)"
            batch.extend(self._rows(arch, failed_results(proxies, msg)))
            self.log(f"{arch}: {msg}; recorded as failed")
        else:
            pending.appendleft([(arch, proxies)])  # retried once, alone
            self.log(f"{arch}: {reason}; worker replaced, retrying this architecture once")

    def run(self) -> int:
        """Score everything in the plan (or until stopped); returns the number of archs recorded."""
        todo = list(self.plan.todo.items())
        if not todo:
            return 0
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
            self.shutdown(kill=True)
        return self.done

    def _step(self, pending: deque) -> None:
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
        waitables = [w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers]
        mp_wait(waitables, timeout=POLL_S)
        batch: list = []
        for w in list(self.workers):
            dead = False
            try:
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
                        self.deaths.pop(arch, None)
                        batch.extend(self._rows(arch, results))
                    elif msg[0] == "fatal":
                        _, cls_name, text = msg
                        cls = getattr(errors, cls_name, None)
                        if not (isinstance(cls, type) and issubclass(cls, ZcbenchError)):
                            cls = EngineError
                        self._flush(batch)
                        raise cls(text)
            except (EOFError, OSError):
                dead = True
            if dead or not w.proc.is_alive():
                if not dead:  # exited: read anything it sent before dying on the next round
                    w.proc.join(timeout=1)
                    if w.conn.poll():
                        continue
                self._handle_death(w, _exit_reason(w.proc), pending, batch)
        if self.timeout is not None:
            now = time.monotonic()
            for w in list(self.workers):
                if w.ready and w.chunk and now - w.started > self.timeout:
                    self._discard(w, kill=True)
                    self._lost(w, f"timeout after {self.timeout:g}s", pending, batch, timed_out=True)
                    self._replace(w, pending)
        self._flush(batch)

    def _handle_death(self, w: _Worker, reason: str, pending: deque, batch: list) -> None:
        self._discard(w, kill=True)
        if not w.ready:
            self.startup_failures += 1
            limit = 2 * len(self.devices) * self.n_per_device + 1
            if self.startup_failures >= limit:
                self._flush(batch)
                raise EngineError(f"workers keep dying at start-up on {w.device} ({reason})")
        self._lost(w, reason, pending, batch, timed_out=False)
        self._replace(w, pending)

    def _replace(self, w: _Worker, pending: deque) -> None:
        if not self.stop.set and (pending or any(x.chunk for x in self.workers)):
            self._start(w.device)

    def _flush(self, batch: list) -> None:
        """One durable write for everything that arrived in this round, then the progress bar."""
        if not batch:
            return
        self.store.append_many(batch)
        archs = len({r.arch for _, _, r in batch})
        self.done += archs
        failed_archs = len({r.arch for _, _, r in batch if r.error})
        self.progress(archs, failed_archs)
        batch.clear()


# -- Ray ----------------------------------------------------------------------------------------
class RayWorker:
    """Ray actor body: the very same :class:`WorkerCore` as a local worker process."""

    def __init__(self, settings: RunSettings, device: str, threads: int) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.core = WorkerCore(settings, device, threads)

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


class RayEngine(Engine):
    """``--executor ray``: one actor per worker on a Ray cluster (``$RAY_ADDRESS``, else a local Ray).

    Each actor takes one architecture at a time, so the local pool's fault rules apply unchanged:
    a dead actor is replaced and its arch retried once, a slow one is killed at ``timeout``.
    ``--device cuda`` gives each actor one GPU; ``--workers N`` is the number of actors (0: one per
    CPU, or per GPU, of the cluster)."""

    def run(self) -> int:
        try:
            import ray
        except ImportError:
            raise UsageError("--executor ray needs Ray: pip install 'zcbench[ray]'") from None
        todo = list(self.plan.todo.items())
        if not todo:
            return 0
        started_ray = not ray.is_initialized()
        if started_ray:
            ray.init(
                address=os.environ.get("RAY_ADDRESS") or None,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
            )
        gpu = self.devices != ["cpu"]
        resource = "GPU" if gpu else "CPU"
        avail = int(ray.cluster_resources().get(resource, 0))
        if avail < 1:
            if started_ray:
                ray.shutdown()
            raise UsageError(f"the Ray cluster has no {resource} for --device {self.devices[0]}")
        n = max(1, min(self.n_per_device or avail, avail, len(todo)))
        if self.n_per_device > n:
            self.log(f"using {n} Ray workers (the cluster has {avail} {resource}s)")
        actor_cls = ray.remote(num_gpus=1 if gpu else 0, num_cpus=0 if gpu else 1, max_restarts=0)(RayWorker)
        device = "cuda:0" if gpu else "cpu"  # Ray gives each actor its own CUDA_VISIBLE_DEVICES
        actors: list = []

        def start() -> object:
            a = actor_cls.remote(self.settings, device, self.threads)
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
                batch: list = []
                for ref in ready:
                    a, arch, proxies, _ = inflight.pop(ref)
                    try:
                        results = ray.get(ref)
                    except ray.exceptions.RayActorError:
                        self.deaths[arch] = self.deaths.get(arch, 0) + 1
                        reason = "worker died"
                        if self.deaths[arch] >= MAX_DEATHS:
                            batch.extend(self._rows(arch, failed_results(proxies, f"{reason} ({MAX_DEATHS} times)")))
                            self.log(f"{arch}: {reason} ({MAX_DEATHS} times); recorded as failed")
                        else:
                            pending.appendleft((arch, proxies))
                            self.log(f"{arch}: {reason}; worker replaced, retrying this architecture once")
                        if pending or inflight:
                            idle.append(start())
                        continue
                    except ray.exceptions.RayError as err:
                        results = failed_results(proxies, _ray_reason(err))
                    self.deaths.pop(arch, None)
                    batch.extend(self._rows(arch, results))
                    idle.append(a)
                if self.timeout is not None:
                    now = time.monotonic()
                    for ref, (a, arch, proxies, t0) in list(inflight.items()):
                        if now - t0 > self.timeout:
                            inflight.pop(ref)
                            ray.kill(a)
                            reason = f"timeout after {self.timeout:g}s"
                            batch.extend(self._rows(arch, failed_results(proxies, reason)))
                            self.log(f"{arch}: {reason}; worker replaced")
                            if pending or inflight:
                                idle.append(start())
                self._flush(batch)
        finally:
            for a in actors:
                try:
                    ray.kill(a)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            if started_ray:
                ray.shutdown()
        return self.done


# -- the command ---------------------------------------------------------------------------------
@dataclass
class RunSummary:
    """What a score run did (``score_command`` prints it; ``bench_engine`` times it)."""

    scored: int
    cached: int
    failed: int
    proxies: int
    seconds: float
    out: str
    shard: tuple[int, int] | None = None

    def line(self) -> str:
        shard = f" [shard {self.shard[0]}/{self.shard[1]}]" if self.shard else ""
        return (
            f"scored {self.scored} architectures x {self.proxies} proxies{shard} "
            f"({self.cached} already cached, {self.failed} failed architectures) in {self.seconds:.1f}s "
            f"-> {self.out}"
        )


class _Progress:
    """tqdm bar with arch/s, ETA and failures; with ``quiet`` a log line every ``every`` seconds."""

    def __init__(self, total: int, quiet: bool, every: float = 10.0) -> None:
        self.total, self.quiet, self.every = total, quiet, every
        self.n = self.failed = 0
        self.t0 = self.last = time.monotonic()
        self.bar = tqdm(
            total=total, unit="arch", disable=quiet or total == 0, file=sys.stderr, dynamic_ncols=True, smoothing=0.1
        )

    def __call__(self, n: int, failed: int) -> None:
        self.n += n
        self.failed += failed
        self.bar.update(n)
        if failed:
            self.bar.set_postfix(failed=self.failed)
        now = time.monotonic()
        if self.quiet and (now - self.last >= self.every or self.n == self.total):
            self.last = now
            rate = self.n / max(now - self.t0, 1e-9)
            print(
                f"zcbench: {self.n}/{self.total} architectures, {rate:.2f} arch/s, {self.failed} failed",
                file=sys.stderr,
                flush=True,
            )

    def log(self, text: str) -> None:
        if self.bar.disable:
            print(f"zcbench: {text}", file=sys.stderr, flush=True)
        else:
            self.bar.write(f"zcbench: {text}", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def _serial(plan: Plan, store: ResultStore, progress: _Progress, stop: StopFlag) -> int:
    """workers=0: score in this process. Ctrl-C aborts the arch being scored but never a write.
    Torch runs with the workers' thread count meanwhile: reductions are not bit-identical across
    thread counts, and a score must not depend on whether workers were used."""
    import torch

    stop.restore()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(worker_threads())
    writing = [False]

    def handler(signum, frame):
        stop.set, stop.signal = True, signal.Signals(signum).name
        if not writing[0]:
            raise KeyboardInterrupt

    class GuardedStore:
        def append(self, key, info, rows):
            writing[0] = True
            try:
                store.append(key, info, rows)
            finally:
                writing[0] = False

    old = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    n = [0]

    def counting_progress(k: int, failed_scores: int) -> None:
        n[0] += k
        progress(k, 1 if failed_scores else 0)  # count failed architectures, as the pool does
        if stop.set:
            raise KeyboardInterrupt

    try:
        run_serial(plan, GuardedStore(), counting_progress)
    except KeyboardInterrupt:
        stop.set = True
        stop.signal = stop.signal or "SIGINT"
    finally:
        torch.set_num_threads(threads_before)
        for sig, h in old.items():
            signal.signal(sig, h)
    return n[0]


def run_scoring(
    *,
    space,
    dataset,
    proxies,
    dump=None,
    archs_file=None,
    sample=None,
    limit=None,
    seed=0,
    batch_size=64,
    dataload="random",
    dataload_info=1,
    epochs=None,
    device="cpu",
    workers=0,
    data_dir=None,
    synthetic=False,
    options=None,
    out="results/zcbench.h5",
    resume=True,
    quiet=False,
    shard=None,
    timeout=None,
    executor="local",
    variant=None,
) -> RunSummary:
    """Plan, score and store; raises :class:`Interrupted` (exit 130) after saving on Ctrl-C."""
    if executor == "ray":  # Ray places actors on the cluster's devices, not this machine's
        if device not in ("cpu", "cuda"):
            raise UsageError("--executor ray takes --device cpu or cuda (Ray assigns the GPUs)")
        devices = [device]
    else:
        devices = resolve_devices(device)
    shard_t = parse_shard(shard)
    if workers < 0:
        raise UsageError("--workers must be >= 0")
    if executor not in ("local", "ray"):
        raise UsageError(f"unknown executor {executor!r} (choose local or ray)")
    if executor == "local" and workers == 0:
        if len(devices) > 1:
            raise UsageError(f"--device {device} names several devices: give --workers N (per device)")
        if timeout is not None:
            raise UsageError("--timeout needs worker processes: give --workers 1 or more")
    if timeout is not None and timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    settings = RunSettings(
        space=space,
        dataset=dataset,
        proxies=list(proxies),
        seed=seed,
        batch_size=batch_size,
        dataload=dataload,
        dataload_info=dataload_info,
        synthetic=synthetic,
        data_dir=data_dir,
        device=",".join(devices) if len(devices) > 1 else devices[0],
        dump=dump,
        epochs=epochs,
        options=dict(options or {}),
        variant=variant,
    )
    t0 = time.perf_counter()
    stop = StopFlag()
    with ResultStore(out) as store:
        plan = apply_shard(plan_run(settings, store, archs_file, sample, limit, resume), shard_t)
        bar = _Progress(len(plan.todo), quiet)
        stop.install()
        try:
            if executor == "ray":
                n = RayEngine(plan, store, devices, workers, timeout, bar, bar.log, stop).run()
            elif workers == 0:
                n = _serial(plan, store, bar, stop)
            else:
                n = Engine(plan, store, devices, workers, timeout, bar, bar.log, stop).run()
        finally:
            stop.restore()
            bar.close()
    summary = RunSummary(
        n,
        len(plan.archs) - len(plan.todo),
        bar.failed,
        len(settings.proxies),
        time.perf_counter() - t0,
        str(out),
        shard_t,
    )
    if stop.set:
        raise Interrupted(
            f"interrupted ({stop.signal}): {n} architectures saved to {out}; run the same command again to resume"
        )
    return summary


def score_command(**kwargs) -> str:
    """``zcbench score``: run and return the one-line summary (see :func:`run_scoring`)."""
    return run_scoring(**kwargs).line()
