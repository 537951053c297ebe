"""Short, stable fingerprints of what a stored value depends on: a dump file and a minibatch.

A dump is fingerprinted by name, size and a hash of its first and last MiB (of its file list for a
directory): enough to tell releases, schedules and truncated copies apart without reading gigabytes,
and independent of where the file lives, so shards scored on different machines agree. A minibatch
is fingerprinted by a hash of its bytes, so "the same data" is checked, not assumed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_EDGE = 1 << 20  # bytes hashed at each end of a file
NO_TRUTH = "none"  # the truth of a run scored without a dump (zcbench.store.schema)


def dump_fingerprint(path: str | Path) -> str:
    """``<name>:<size>:<sha256 of head+tail, 12 hex>`` for a file; for a directory, over its file list."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        total = 0
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            st = f.stat()
            total += st.st_size
            h.update(f"{f.relative_to(path)}\0{st.st_size}\n".encode())
        return f"{path.name}/:{total}:{h.hexdigest()[:12]}"
    size = path.stat().st_size
    with open(path, "rb") as fh:
        h.update(fh.read(_EDGE))
        if size > _EDGE:
            fh.seek(max(_EDGE, size - _EDGE), os.SEEK_SET)
            h.update(fh.read(_EDGE))
    return f"{path.name}:{size}:{h.hexdigest()[:12]}"


def truth_id(dump: str | Path | None, epochs: int | None, default_epochs: int | None = None) -> str:
    """The identity of a run's accuracy columns (``store.schema``): ``none`` without a dump. ``epochs`` None
    means the space's default schedule, so ``--epochs 200`` and no ``--epochs`` on NB201 are the same truth."""
    if not dump:
        return NO_TRUTH
    epochs = epochs if epochs is not None else default_epochs
    return f"{dump_fingerprint(dump)};epochs={epochs if epochs is not None else 'default'}"


def batch_fingerprint(*tensors) -> str:
    """SHA-256 (16 hex) of tensors' dtype, shape and bytes, in order."""
    h = hashlib.sha256()
    for t in tensors:
        if t is None:
            h.update(b"none;")
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype};{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:16]
