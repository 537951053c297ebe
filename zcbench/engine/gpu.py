"""What a worker does to its device before and while scoring: reproducible numerics, its CUDA context,
what it reports about the GPU, and how it tells a dead CUDA context from an ordinary failure.

* Numerics: TF32 is off for cuDNN convolutions and matmuls (on by default for convolutions on Ampere and
  newer: about 1e-3 relative error, enough to flip the near-zero signs nwot and swap count), cuDNN picks
  deterministic kernels without benchmarking, and ``torch.use_deterministic_algorithms(True,
  warn_only=True)`` makes the rest deterministic where torch can (it warns where it cannot). They are set
  in every worker, on every device (they change nothing on a CPU).
* The CUDA context is created when the worker starts, so a GPU that cannot be used (busy, exclusive-process,
  gone) is one start-up error, not a run of failed rows.
* Identity: the GPU model, compute capability, CUDA and cuDNN versions and the TF32 setting, as the worker
  sees them — the parent never creates a CUDA context. They become part of the run's identity
  (``zcbench.store.schema``), so scores from different GPUs or libraries never join silently.
* A *sticky* CUDA error (an illegal memory access, a device-side assert...) leaves the process's context
  unusable: every later kernel fails. The worker then ends (:class:`DeviceLost`) and the fault policy
  replaces it and retries the architecture once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from ..errors import EngineError
from .devices import CUBLAS_WORKSPACE

TF32 = "off"  # what workers set, recorded in each CUDA run's identity
_STICKY = re.compile(
    r"illegal memory access|device-side assert|unspecified launch failure|misaligned address|"
    r"illegal instruction|CUDA error: (?!out of memory)",
    re.IGNORECASE,
)


class DeviceLost(Exception):
    """The worker's CUDA context is unusable; ``str(err)`` says why. The worker must end."""


def numerics_state() -> dict[str, Any]:
    """This process's numerics settings, as :func:`restore_numerics` takes them."""
    import torch

    return {
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }


def pin_numerics() -> dict[str, Any]:
    """Set reproducible numerics for this process; returns what they were (:func:`restore_numerics`)."""
    import torch

    before = numerics_state()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    return before


def restore_numerics(before: dict[str, Any]) -> None:
    """Undo :func:`pin_numerics` (the in-process executor gives the caller's process back as it was)."""
    import torch

    torch.backends.cudnn.allow_tf32 = before["cudnn_tf32"]
    torch.backends.cuda.matmul.allow_tf32 = before["matmul_tf32"]
    torch.backends.cudnn.deterministic = before["cudnn_deterministic"]
    torch.backends.cudnn.benchmark = before["cudnn_benchmark"]
    torch.use_deterministic_algorithms(before["deterministic"], warn_only=before["warn_only"])


def open_device(device: str, label: str | None = None) -> dict[str, str]:
    """Make ``device`` this process's device and create its CUDA context now; return the identity the run
    records ({} on a CPU). A GPU that cannot be used raises :class:`EngineError` (one line)."""
    if not device.startswith("cuda"):
        return {}
    import torch

    label = label or device
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)  # read when cuBLAS starts (in-process)
    dev = torch.device(device)
    try:
        torch.cuda.set_device(dev)
        torch.cuda.mem_get_info(dev)  # creates the context: a busy, exclusive or missing GPU fails here
        name = torch.cuda.get_device_name(dev)
        major, minor = torch.cuda.get_device_capability(dev)
    except (RuntimeError, AssertionError) as err:  # torch raises both for an unusable GPU
        raise EngineError(f"{label} cannot be used: {first_line(err)}") from None
    return {
        "gpu": str(name),
        "capability": f"{major}.{minor}",
        "cuda": str(torch.version.cuda),
        "cudnn": str(torch.backends.cudnn.version()),
        "tf32": TF32,
    }


def memory_report(device: str) -> dict[str, int]:
    """Peak memory this worker's allocator held, and the GPU's free and total memory ({} on a CPU)."""
    if not device.startswith("cuda"):
        return {}
    import torch

    dev = torch.device(device)
    free, total = torch.cuda.mem_get_info(dev)
    return {
        "peak_allocated": int(torch.cuda.max_memory_allocated(dev)),
        "peak_reserved": int(torch.cuda.max_memory_reserved(dev)),
        "free": int(free),
        "total": int(total),
    }


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def sticky_reason(errors: Iterable[str]) -> str | None:
    """The first error that says the CUDA context is dead, or None."""
    for e in errors:
        if e and _STICKY.search(e):
            return e
    return None


def check_context(device: str, errors: Iterable[str]) -> None:
    """Raise :class:`DeviceLost` when ``device``'s context is dead: an error says so, or a synchronisation
    fails (which also charges an asynchronous kernel error to the architecture that caused it)."""
    if not device.startswith("cuda"):
        return
    errors = list(errors)
    reason = sticky_reason(errors)
    if reason is None:
        import torch

        try:
            torch.cuda.synchronize(torch.device(device))
        except RuntimeError as err:
            reason = first_line(err)
    if reason is not None:
        raise DeviceLost(reason)
