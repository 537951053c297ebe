"""A compact HDF5 copy of what zcbench reads from a big dump, so the second load takes seconds.

The cache lives next to the dump (``<dump>.zcbench-cache.h5``), or under ``$ZCBENCH_CACHE``
(default ``~/.cache/zcbench``) when the dump's folder is read-only. It is keyed by the dump's size
and mtime plus a per-kind version: a changed dump or a new zcbench layout rebuilds it. Writes are
atomic (temporary file, then rename), and an unreadable or foreign cache is simply rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_SUFFIX = ".zcbench-cache.h5"


def cache_key(path: Path, version: int) -> dict[str, int]:
    st = path.stat()
    return {"dump_size": int(st.st_size), "dump_mtime_ns": int(st.st_mtime_ns), "version": int(version)}


def cache_candidates(path: Path) -> list[Path]:
    """Where the cache of ``path`` may live: next to the dump, else under ``$ZCBENCH_CACHE``."""
    root = Path(os.environ.get("ZCBENCH_CACHE") or Path.home() / ".cache" / "zcbench")
    name = path.name.rstrip("/") + CACHE_SUFFIX
    return [path.with_name(name), root / name]


def read_cache(cache: Path, kind: str, key: dict[str, int]) -> dict[str, np.ndarray] | None:
    import h5py

    try:
        with h5py.File(cache, "r") as f:
            if f.attrs.get("zcbench") != kind or any(int(f.attrs.get(k, -1)) != v for k, v in key.items()):
                return None
            return {name: (ds.asstr()[()] if ds.dtype.kind == "O" else ds[()]) for name, ds in f.items()}
    except (OSError, KeyError, ValueError, TypeError):
        return None


def write_cache(cache: Path, kind: str, key: dict[str, int], arrays: dict[str, np.ndarray]) -> bool:
    import h5py

    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(tmp, "w") as f:
            f.attrs["zcbench"] = kind
            for k, v in key.items():
                f.attrs[k] = v
            for name, arr in arrays.items():
                arr = np.asarray(arr)
                if arr.dtype.kind in "UO":
                    f.create_dataset(name, data=arr.astype(object), dtype=h5py.string_dtype())
                else:
                    f.create_dataset(name, data=arr)
        os.replace(tmp, cache)
        return True
    except OSError:
        tmp.unlink(missing_ok=True)
        return False


def load_cached(
    path: Path, kind: str, version: int, build: Callable[[], dict[str, np.ndarray]], use_cache: bool = True
) -> dict[str, np.ndarray]:
    """``build()``'s arrays for the dump at ``path``, from the cache when it is current."""
    key = cache_key(path, version)
    candidates = cache_candidates(path) if use_cache else []
    for cache in candidates:
        if cache.is_file():
            arrays = read_cache(cache, kind, key)
            if arrays is not None:
                return arrays
    arrays = build()
    for cache in candidates:
        if write_cache(cache, kind, key, arrays):
            break
    return arrays
