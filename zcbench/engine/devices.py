"""Which devices a run uses: ``cpu``, ``cuda:0``, ``cuda:0,cuda:1`` or ``cuda`` (every visible GPU)."""

from __future__ import annotations

import re

from ..errors import UsageError

_CUDA_RE = re.compile(r"^cuda:(\d+)$")


def check_device_spec(spec: str) -> list[str]:
    """The parts of a device spec, checked for form only (no torch import)."""
    parts = [p.strip() for p in str(spec).split(",") if p.strip()]
    if not parts:
        raise UsageError("--device is empty (use cpu, cuda, cuda:0 or cuda:0,cuda:1)")
    if parts == ["cpu"]:
        return parts
    for p in parts:
        if p != "cuda" and not _CUDA_RE.match(p):
            raise UsageError(f"--device {spec}: cannot use {p!r} here (use cpu, cuda, cuda:0 or cuda:0,cuda:1)")
    if "cuda" in parts and len(parts) > 1:
        raise UsageError(f"--device {spec}: 'cuda' already means every GPU; list cuda:N devices instead")
    return parts


def resolve_devices(spec: str) -> list[str]:
    """Device strings for ``spec``, checked against the GPUs this machine has."""
    parts = check_device_spec(spec)
    if parts == ["cpu"]:
        return ["cpu"]
    import torch

    if not torch.cuda.is_available():
        raise UsageError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
    n = torch.cuda.device_count()
    if parts == ["cuda"]:
        return [f"cuda:{i}" for i in range(n)]
    out = []
    for p in parts:
        i = int(_CUDA_RE.match(p).group(1))
        if i >= n:
            raise UsageError(f"--device {p}: only {n} GPU(s) visible (cuda:0..cuda:{n - 1})")
        if p not in out:
            out.append(p)
    return out
