"""What an executor is given, and where its workers' reports go.

:class:`WorkerPlan` says which workers to start (the run, devices, workers per device, threads, core);
:class:`Fleet` holds what they report to — the fault policy, the row writer, the stop flag, the log — and
checks their reports as they arrive:

* the device identity each worker reports when ready (GPU model, CUDA/cuDNN, TF32) completes the run's
  identity before any row is written (``RowWriter.use_hardware``);
* the memory the first worker on a GPU needed for its first architecture decides whether ``--workers N``
  fit on that GPU: the executors start one worker per GPU first and the others once it fits
  (:func:`check_fit`); a run that cannot fit stops with one line saying how many would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import EngineError
from ..settings import RunSettings
from .faults import FaultPolicy
from .monitor import StopFlag
from .recorder import RowWriter
from .worker import WorkerCore

FIT_LIMIT = 0.9  # at most this share of the free memory for N workers' measured peaks
FIT_NOTE = 0.5  # above this share, a note: larger architectures than the first may run out
GIB = 2**30


@dataclass(frozen=True)
class WorkerPlan:
    """Which workers an executor starts: ``per_device`` on each device (with Ray: actors per GPU, or in all
    on CPUs), each scoring ``settings`` with ``core_cls`` on ``threads`` threads."""

    settings: RunSettings
    devices: tuple[str, ...]
    per_device: int
    threads: int
    core_cls: type[WorkerCore]


@dataclass
class Fleet:
    """Where workers report: faults to ``policy``, rows to ``writer``, notes to ``log``; ``stop`` is checked
    between rounds. Keeps the peak memory any worker held (bytes, 0 on CPUs)."""

    policy: FaultPolicy
    writer: RowWriter
    stop: StopFlag
    log: Callable[[str], None]
    per_device: int = 1
    peak: int = 0
    gpus: dict[str, str] = field(default_factory=dict)  # device -> GPU model, as reported
    fitted: set[str] = field(default_factory=set)  # devices whose first measurement was checked

    def ready(self, device: str, identity: dict[str, str]) -> None:
        """A worker on ``device`` started and reported its device (raises when the run cannot take it)."""
        self.writer.use_hardware(device, identity)
        if identity.get("gpu"):
            self.gpus[device] = identity["gpu"]

    def measured(self, device: str, memory: dict[str, int]) -> bool:
        """A worker on ``device`` reported its memory after an architecture. True the first time, once the
        device's other workers may start (raises EngineError when they would not fit)."""
        if not memory:
            first = device not in self.fitted
            self.fitted.add(device)
            return first
        self.peak = max(self.peak, int(memory.get("peak_reserved", 0)))
        if device in self.fitted:
            return False
        self.fitted.add(device)
        note = check_fit(device, self.gpus.get(device, "GPU"), memory, self.per_device)
        if note:
            self.log(note)
        return True


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def check_fit(device: str, gpu: str, memory: dict[str, int], workers: int) -> str | None:
    """Whether ``workers`` processes like the one measured fit on ``device``: raises EngineError when their
    peaks exceed FIT_LIMIT of the memory free to them, returns a note when they take more than FIT_NOTE of
    it, else None. ``memory`` is the first worker's report after its first architecture, before the others
    started: its allocator's peak, and what was still free on the GPU besides it."""
    need = int(memory.get("peak_reserved", 0))
    room = int(memory.get("free", 0)) + need
    if workers <= 1 or need <= 0 or room <= 0:
        return None
    fits = int(FIT_LIMIT * room // need)
    what = f"{device} ({gpu}): {workers} workers need about {workers} x {_gib(need)} (the first architecture's peak)"
    if workers * need > FIT_LIMIT * room:
        advice = "use a smaller --batch-size"
        if fits >= 1:
            advice = f"use --workers {fits} or fewer, or a smaller --batch-size"
        raise EngineError(f"{what} but {_gib(room)} is free: {advice}")
    if workers * need > FIT_NOTE * room:
        return (
            f"{what} of {_gib(room)} free: larger architectures may run out of memory "
            "(recorded as failed; fewer workers or a smaller --batch-size avoid it)"
        )
    return None
