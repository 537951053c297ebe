"""The one fault policy of every executor: what happens to an architecture whose worker dies or hangs.

A worker that dies while scoring an architecture is replaced and the architecture is retried once,
on its own; if it kills a worker again it is recorded as failed with the reason. An architecture
that runs longer than the timeout gets its worker killed and replaced and is recorded as
``timeout after Ns`` (not retried: it would most likely time out again). The local pool and the Ray
pool only detect these events; the decisions are made here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

MAX_DEATHS = 2  # an arch whose worker died this many times is recorded as failed

Results = dict[str, tuple[float, float, str]]


def failed_results(proxies: Sequence[str], reason: str) -> Results:
    """Every proxy of an architecture recorded as NaN with ``reason``."""
    return {p: (math.nan, 0.0, reason) for p in proxies}


class FaultPolicy:
    def __init__(self, timeout: float | None = None, log: Callable[[str], None] | None = None) -> None:
        self.timeout = timeout
        self.log = log or (lambda s: None)
        self.deaths: dict[str, int] = {}

    def died(self, arch: str, proxies: Sequence[str], reason: str) -> Results | None:
        """The worker on ``arch`` died: None = retry it (alone), else the failed results to record."""
        n = self.deaths[arch] = self.deaths.get(arch, 0) + 1
        if n >= MAX_DEATHS:
            msg = f"{reason} ({n} times)"
            self.log(f"{arch}: {msg}; recorded as failed")
            return failed_results(proxies, msg)
        self.log(f"{arch}: {reason}; worker replaced, retrying this architecture once")
        return None

    def overdue(self, started: float, now: float) -> bool:
        return self.timeout is not None and now - started > self.timeout

    def timed_out(self, arch: str, proxies: Sequence[str]) -> Results:
        reason = f"timeout after {self.timeout:g}s"
        self.log(f"{arch}: {reason}; worker replaced")
        return failed_results(proxies, reason)

    def succeeded(self, arch: str) -> None:
        self.deaths.pop(arch, None)
