"""What a user watching a score run sees: a bar with arch/s, ETA and failures, or with ``quiet`` a log line
every ``every`` seconds; and the signal flag that turns Ctrl-C / SIGTERM into "save and stop"."""

from __future__ import annotations

import signal
import sys
import threading
import time


class Progress:
    def __init__(self, total: int, quiet: bool, every: float = 10.0) -> None:
        from ..progress import bar

        self.total, self.quiet, self.every = total, quiet, every
        self.n = self.failed = 0
        self.t0 = self.last = time.monotonic()
        self.bar = bar(total=total, unit="arch", quiet=quiet or total == 0, smoothing=0.1)

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


class StopFlag:
    """Set by SIGINT/SIGTERM; the executors check it between rounds."""

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
