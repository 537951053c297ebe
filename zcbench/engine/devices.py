"""Which devices a run uses, and what a worker process sees of them.

A spec is ``cpu``, ``cuda`` (every visible GPU), ``cuda:N`` or a list ``cuda:0,cuda:1``; it is normalised
(``cuda:01`` → ``cuda:1``, case and spaces ignored) and deduplicated (``cuda:1,cuda:1`` is one device).
The parent process only counts GPUs (no CUDA context); each local worker is started with
``CUDA_VISIBLE_DEVICES`` naming its one GPU, so inside the worker that GPU is ``cuda:0`` — as Ray does for
its actors — while messages and the run's identity keep the name the user gave (``cuda:1``).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from ..errors import UsageError

_CUDA_RE = re.compile(r"^cuda:(\d+)$")
_FORMS = "use cpu, cuda, cuda:0 or cuda:0,cuda:1"
# CUDA's reproducible cuBLAS workspace (needed with torch.use_deterministic_algorithms); set before CUDA starts
CUBLAS_WORKSPACE = ":4096:8"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def check_device_spec(spec: str) -> list[str]:
    """The devices of ``spec``, normalised and deduplicated, checked for form only (no torch import)."""
    parts = [p.strip().lower() for p in str(spec).split(",") if p.strip()]
    if not parts:
        raise UsageError(f"--device is empty ({_FORMS})")
    out: list[str] = []
    for p in parts:
        m = _CUDA_RE.match(p)
        if m:
            p = f"cuda:{int(m.group(1))}"
        elif p not in ("cpu", "cuda"):
            raise UsageError(f"--device {spec}: cannot use {p!r} here ({_FORMS})")
        if p not in out:
            out.append(p)
    if len(out) > 1 and "cpu" in out:
        raise UsageError(f"--device {spec}: cpu cannot be combined with GPUs")
    if len(out) > 1 and "cuda" in out:
        raise UsageError(f"--device {spec}: 'cuda' already means every GPU; list cuda:N devices instead")
    return out


def resolve_devices(spec: str) -> list[str]:
    """Device strings for ``spec``, checked against the GPUs this machine has (counted, no CUDA context)."""
    parts = check_device_spec(spec)
    if parts == ["cpu"]:
        return ["cpu"]
    import torch

    if not torch.cuda.is_available():
        raise UsageError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
    n = torch.cuda.device_count()
    if parts == ["cuda"]:
        return [f"cuda:{i}" for i in range(n)]
    for p in parts:
        if int(p.split(":")[1]) >= n:
            raise UsageError(f"--device {p}: only {n} GPU(s) visible (cuda:0..cuda:{n - 1})")
    return parts


def worker_env(device: str, threads: int) -> dict[str, str]:
    """The environment a spawned worker needs before it imports torch: its GPU alone, the reproducible cuBLAS
    workspace, and the BLAS/OpenMP pools of numpy and torch at the worker's thread count."""
    env = {name: str(threads) for name in THREAD_VARS}
    if device.startswith("cuda"):
        env["CUBLAS_WORKSPACE_CONFIG"] = os.environ.get("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    m = _CUDA_RE.match(device)
    if m:
        index = int(m.group(1))
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        # the parent's own CUDA_VISIBLE_DEVICES renumbers the GPUs: its cuda:1 is the second one listed there
        env["CUDA_VISIBLE_DEVICES"] = visible[index] if "CUDA_VISIBLE_DEVICES" in os.environ else str(index)
    return env


def local_device(device: str) -> str:
    """The device a worker started with :func:`worker_env` uses: its one visible GPU is ``cuda:0``."""
    return "cuda:0" if _CUDA_RE.match(device) else device


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """``env`` set in this process while the block runs (a spawned child inherits it), then restored."""
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
