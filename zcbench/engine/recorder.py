"""The engine's side of the single writer: results of finished architectures become store rows, written
in batches — one durable write (journal + fsync) per round — and counted for the progress display."""

from __future__ import annotations

from collections.abc import Callable

from ..store import ResultStore, Row
from .faults import Results
from .plan import Plan, accuracy


class RowWriter:
    def __init__(self, plan: Plan, store: ResultStore, progress: Callable[[int, int], None]) -> None:
        self.plan, self.store, self.progress = plan, store, progress
        self.batch: list = []
        self.done = 0  # architectures recorded
        self.failed = 0  # of which with at least one failed proxy
        self.per_proxy: dict[str, tuple[int, int]] = {}  # stored proxy -> (rows recorded, of which failed)

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
