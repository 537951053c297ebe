"""Fault injection for the engine's crash tests. Production code never imports this module.

:class:`FaultyWorkerCore` is a :class:`~zcbench.engine.worker.WorkerCore` that misbehaves on request,
driven by environment variables (so spawned workers and Ray actors see the same instructions):

* ``ZCBENCH_TEST_CRASH_ARCH=<arch>``: the worker ``os._exit(1)``s when it reaches that arch; with
  ``ZCBENCH_TEST_CRASH_ONCE=<file>`` only while the file does not exist (creating it);
* ``ZCBENCH_TEST_SLEEP_ARCH=<arch>`` plus ``ZCBENCH_TEST_SLEEP_SECONDS``: it sleeps there.

Use it in-process with ``monkeypatch.setattr(zcbench.engine.worker, "DEFAULT_CORE", FaultyWorkerCore)``,
or run the CLI through ``python -m zcbench.testing.inject score ...``, which installs it first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from ..engine import worker
from ..engine.worker import WorkerCore

CRASH_ENV = "ZCBENCH_TEST_CRASH_ARCH"
CRASH_ONCE_ENV = "ZCBENCH_TEST_CRASH_ONCE"
SLEEP_ENV = "ZCBENCH_TEST_SLEEP_ARCH"
SLEEP_SECONDS_ENV = "ZCBENCH_TEST_SLEEP_SECONDS"


class FaultyWorkerCore(WorkerCore):
    def score(self, arch: str, proxies: Sequence[str]):
        if os.environ.get(CRASH_ENV) == arch:
            marker = os.environ.get(CRASH_ONCE_ENV)
            if not marker or not os.path.exists(marker):
                if marker:
                    open(marker, "w").close()
                os._exit(1)
        if os.environ.get(SLEEP_ENV) == arch:
            time.sleep(float(os.environ.get(SLEEP_SECONDS_ENV, "3600")))
        return super().score(arch, proxies)


def install() -> None:
    """Make every run of this process (and the workers it spawns) use :class:`FaultyWorkerCore`."""
    worker.DEFAULT_CORE = FaultyWorkerCore


if __name__ == "__main__":
    from zcbench.cli import main
    from zcbench.testing import inject  # the module under its own name, so workers can unpickle the class

    inject.install()
    main(prog_name="zcbench")
