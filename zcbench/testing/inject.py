"""Fault injection for the engine's crash tests. Production code never imports this module.

:class:`FaultyWorkerCore` is a :class:`~zcbench.engine.worker.WorkerCore` that misbehaves on request,
driven by environment variables (so spawned workers and Ray actors see the same instructions):

* ``ZCBENCH_TEST_CRASH_ARCH=<arch>``: the worker ``os._exit(1)``s when it reaches that arch; with
  ``ZCBENCH_TEST_CRASH_ONCE=<file>`` only while the file does not exist (creating it);
* ``ZCBENCH_TEST_SLEEP_ARCH=<arch>`` plus ``ZCBENCH_TEST_SLEEP_SECONDS``: it sleeps there.

:class:`FakeCudaCore` runs the real device start-up (numerics, ``CUDA_VISIBLE_DEVICES``, the CUDA context,
the identity) against a faked ``torch.cuda`` — GPUs named by ``ZCBENCH_TEST_FAKE_GPUS`` — records what it
saw in ``ZCBENCH_TEST_RECORD`` (one JSON line per worker) and scores instantly; ``ZCBENCH_TEST_STICKY_ARCH``
makes an architecture fail with a sticky CUDA error (with ``ZCBENCH_TEST_CRASH_ONCE``: only once).
:class:`InstantWorkerCore` scores instantly on a CPU (``scripts/bench_store.py``).

Use it in-process with ``monkeypatch.setattr(zcbench.engine.worker, "DEFAULT_CORE", FaultyWorkerCore)``,
or run the CLI through ``python -m zcbench.testing.inject score ...``, which installs it first.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence

from ..engine import worker
from ..engine.devices import THREAD_VARS
from ..engine.worker import WorkerCore

CRASH_ENV = "ZCBENCH_TEST_CRASH_ARCH"
CRASH_ONCE_ENV = "ZCBENCH_TEST_CRASH_ONCE"
SLEEP_ENV = "ZCBENCH_TEST_SLEEP_ARCH"
SLEEP_SECONDS_ENV = "ZCBENCH_TEST_SLEEP_SECONDS"
FAKE_GPUS_ENV = "ZCBENCH_TEST_FAKE_GPUS"  # "NVIDIA A100@8.0,NVIDIA H200@9.0": the machine's GPUs, in order
FAKE_MEMORY_ENV = "ZCBENCH_TEST_FAKE_MEMORY"  # "peak,free,total" in GiB as a worker's allocator reports them
RECORD_ENV = "ZCBENCH_TEST_RECORD"
STICKY_ENV = "ZCBENCH_TEST_STICKY_ARCH"
SCORE_SECONDS_ENV = "ZCBENCH_TEST_SCORE_SECONDS"  # how long a hash score takes (default 0)
BUSY_ENV = "ZCBENCH_TEST_GPU_BUSY"  # set: the faked GPU cannot be used (its context cannot be created)
BUSY_ERROR = "CUDA error: CUDA-capable device(s) is/are busy or unavailable"
STICKY_ERROR = "RuntimeError: CUDA error: an illegal memory access was encountered"


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


class InstantWorkerCore(WorkerCore):
    """Scores instantly, without torch: each score is a hash of (proxy, arch). What is left to time is the
    engine and the store alone (``scripts/bench_store.py``)."""

    def __init__(self, settings, device: str, threads: int = 1) -> None:  # no torch, no scorer
        self.settings, self.device, self.identity = settings, device, {}
        self.scorer = _HashScorer()


class _HashScorer:
    def score(self, arch: str, proxies: Sequence[str]):
        time.sleep(float(os.environ.get(SCORE_SECONDS_ENV, "0")))
        if os.environ.get(STICKY_ENV) == arch and _first_time():
            return {p: (float("nan"), 0.0, STICKY_ERROR) for p in proxies}
        return {p: (_hash_score(p, arch), 0.0, "") for p in proxies}


def _first_time() -> bool:
    marker = os.environ.get(CRASH_ONCE_ENV)
    if not marker:
        return True
    if os.path.exists(marker):
        return False
    open(marker, "w").close()
    return True


def _hash_score(proxy: str, arch: str) -> float:
    return int.from_bytes(hashlib.sha1(f"{proxy}:{arch}".encode()).digest()[:6], "big") / 2**48


def fake_cuda(setter: Callable[[object, str, object], None] = setattr) -> list[tuple[str, str]]:
    """Make ``torch.cuda`` report the GPUs of ``$ZCBENCH_TEST_FAKE_GPUS`` as this process sees them (through
    ``CUDA_VISIBLE_DEVICES``); ``setter`` is ``setattr`` or a test's ``monkeypatch.setattr``. Returns the
    visible GPUs as (name, capability); ``torch.cuda.set_device`` calls are kept in ``fake_cuda.calls``."""
    import torch

    gpus = [tuple(g.split("@")) for g in os.environ.get(FAKE_GPUS_ENV, "Fake GPU@8.0").split(",")]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = [gpus[int(i)] for i in visible.split(",") if i.strip()]
    peak, free, total = (int(float(x) * 2**30) for x in os.environ.get(FAKE_MEMORY_ENV, "1,79,80").split(","))
    calls: list[str] = []
    fake_cuda.calls = calls

    def index(dev=None) -> int:
        return 0 if dev is None else (torch.device(dev).index or 0)

    def mem_get_info(dev=None) -> tuple[int, int]:
        if os.environ.get(BUSY_ENV):
            raise RuntimeError(BUSY_ERROR)
        return free, total

    fakes = {
        "is_available": lambda: True,
        "device_count": lambda: len(gpus),
        "set_device": lambda dev: calls.append(str(torch.device(dev))),
        "get_device_name": lambda dev=None: gpus[index(dev)][0],
        "get_device_capability": lambda dev=None: tuple(int(x) for x in gpus[index(dev)][1].split(".")),
        "mem_get_info": mem_get_info,
        "max_memory_allocated": lambda dev=None: peak,
        "max_memory_reserved": lambda dev=None: peak,
        "synchronize": lambda dev=None: None,
    }
    fakes["is_available"]._zcbench_fake = True  # how FakeCudaCore tells a test faked this process already
    for name, fn in fakes.items():
        setter(torch.cuda, name, fn)
    return gpus


class FakeCudaCore(WorkerCore):
    """The real device start-up on a faked ``torch.cuda`` (see :func:`fake_cuda`), recorded, then instant
    hash scores; a sticky CUDA error where ``$ZCBENCH_TEST_STICKY_ARCH`` says."""

    def __init__(self, settings, device: str, threads: int = 1) -> None:
        import torch

        from ..engine.gpu import open_device, pin_numerics

        if not getattr(torch.cuda.is_available, "_zcbench_fake", False):  # else a test faked it here already
            fake_cuda()
        torch.set_num_threads(max(1, threads))
        pin_numerics()
        self.settings, self.device = settings, device
        self.identity = open_device(device)
        self.scorer = _HashScorer()
        _record(device, self.identity, threads)


def _record(device: str, identity: dict, threads: int) -> None:
    import numpy  # noqa: F401 - loads the BLAS whose pool is recorded
    import torch
    from threadpoolctl import threadpool_info

    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    env = ("CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG", *THREAD_VARS)
    line = {
        "pid": os.getpid(),
        "device": device,
        "identity": identity,
        "threads": torch.get_num_threads(),
        "blas_threads": sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}),
        "env": {k: os.environ.get(k) for k in env},
        "set_device": list(fake_cuda.calls),
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
    }
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


def install() -> None:
    """Make every run of this process (and the workers it spawns) use :class:`FaultyWorkerCore`."""
    worker.DEFAULT_CORE = FaultyWorkerCore


if __name__ == "__main__":
    from zcbench.cli import main
    from zcbench.testing import inject  # the module under its own name, so workers can unpickle the class

    inject.install()
    main(prog_name="zcbench")
