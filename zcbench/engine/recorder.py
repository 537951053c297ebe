"""The engine's side of the single writer: results of finished architectures become store rows, written
in batches — one durable write (journal + fsync) per round — and counted for the progress display.

The run's identity is the planner's (truth, minibatch, device kind, versions) completed by what the
workers report about their GPU (:meth:`RowWriter.use_hardware`), checked against the stored runs before
the first row is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..errors import StoreError
from ..store import ResultStore, Row
from ..store.schema import describe_hardware
from .faults import Results
from .plan import Plan, accuracy


class RowWriter:
    def __init__(self, plan: Plan, store: ResultStore, progress: Callable[[int, int], None]) -> None:
        self.plan, self.store, self.progress = plan, store, progress
        self.batch: list = []
        self.done = 0  # architectures recorded
        self.failed = 0  # of which with at least one failed proxy
        self.per_proxy: dict[str, tuple[int, int]] = {}  # stored proxy -> (rows recorded, of which failed)
        self.hardware: dict[str, str] | None = None  # what the first worker reported
        self.hardware_from = ""

    def use_hardware(self, device: str, hardware: dict[str, str]) -> None:
        """A worker on ``device`` reported its GPU (model, CUDA/cuDNN, TF32; {} on a CPU). The first report
        completes the run's identity, checked against the stored runs (StoreError: nothing computed is
        lost, nothing written); a later one must agree with it (one run, one kind of GPU)."""
        if self.hardware is not None:
            if hardware != self.hardware and not self.store.allow_mixed:
                a, b = self.hardware_from, device
                raise StoreError(
                    f"{a} and {b} cannot score one run: {a} is {describe_hardware(self.hardware)}, {b} is "
                    f"{describe_hardware(hardware)}; score them into separate --out files (--ignore-versions to mix)"
                )
            return
        infos = {p: replace(info, hardware=dict(hardware)) for p, info in self.plan.infos.items()}
        for proxy, info in infos.items():
            self.store.check_identity(self.plan.settings.run_key(proxy), info)
        self.plan.infos.update(infos)
        self.hardware, self.hardware_from = dict(hardware), device

    def add(self, arch: str, results: Results) -> None:
        val, test = accuracy(self.plan, arch)
        idx = self.plan.indices.get(arch, -1)
        for proxy, (score, seconds, error) in results.items():
            row = Row(idx, arch, score, seconds, val, test, error)
            self.batch.append((self.plan.settings.run_key(proxy), self.plan.info(proxy), row))

    def flush(self) -> None:
        if not self.batch:
            return
        self.store.append_many(self.batch)
        for key, _, r in self.batch:
            n, bad = self.per_proxy.get(key.proxy, (0, 0))
            self.per_proxy[key.proxy] = (n + 1, bad + bool(r.error))
        archs = {r.arch for _, _, r in self.batch}
        failed = {r.arch for _, _, r in self.batch if r.error}
        self.done += len(archs)
        self.failed += len(failed)
        self.batch.clear()
        self.progress(len(archs), len(failed))
