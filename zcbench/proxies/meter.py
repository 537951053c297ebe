"""Per-proxy network builds and host-sync calls: what ``zcbench bench`` reports and the budget tests check.

A host sync is a call that makes the host wait for the device's queued work: reading a tensor's value
(``item``, ``bool``, ``float``, ``int``, ``tolist``) or copying it to the host (``cpu``, ``numpy``,
``__array__``). :class:`SyncCounter` counts those calls through a ``TorchFunctionMode``, so they are
counted on the CPU too (where they cost nothing), which is how a GPU's idle time can be budgeted without a
GPU. Copies to a device and data-dependent shapes (``nonzero``, ``unique``) are not counted.
The mode sees every torch call, so a meter is only used where it is asked for (bench, tests), never in a
score run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch.overrides import TorchFunctionMode

SYNC_METHODS = frozenset(
    {"item", "__bool__", "__float__", "__int__", "__index__", "cpu", "numpy", "tolist", "__array__"}
)

Label = str | tuple[str, ...]  # a proxy, or the members of a shared pass


class SyncCounter(TorchFunctionMode):
    """Counts host-sync calls into ``meter.syncs[meter.label]`` while entered."""

    def __init__(self, meter: Meter) -> None:
        super().__init__()
        self.meter = meter

    def __torch_function__(self, func, types, args=(), kwargs=None) -> Any:
        if getattr(func, "__name__", "") in SYNC_METHODS:
            self.meter.syncs[self.meter.label] += 1
        return func(*args, **(kwargs or {}))


class Meter:
    """Builds and host syncs by label (a proxy, or a shared pass's members), for one or more
    architectures; ``count_syncs=False`` counts builds only (no overhead on the timings)."""

    def __init__(self, count_syncs: bool = True) -> None:
        self.count_syncs = count_syncs
        self.builds: Counter[Label] = Counter()
        self.syncs: Counter[Label] = Counter()
        self.label: Label = ""
        self._counting = False

    @contextmanager
    def measure(self, label: Label) -> Iterator[None]:
        """Charge what happens inside to ``label`` (nested: to the inner label, counted once)."""
        before, self.label = self.label, label
        try:
            if self.count_syncs and not self._counting:
                self._counting = True
                try:
                    with SyncCounter(self):
                        yield
                finally:
                    self._counting = False
            else:
                yield
        finally:
            self.label = before

    def built(self) -> None:
        """A network was built (charged to the current label)."""
        self.builds[self.label] += 1

    def per_proxy(self, counter: Counter[Label]) -> dict[str, float]:
        """``counter`` per proxy: a shared pass's count divided evenly among its members (as its seconds are)."""
        out: dict[str, float] = {}
        for label, n in counter.items():
            members = label if isinstance(label, tuple) else (label,)
            for m in members:
                out[m] = out.get(m, 0.0) + n / len(members)
        return out
