"""A compact HDF5 copy of what zcbench reads from a big dump, so the second load takes seconds.

The cache lives in a cache folder, never next to the user's dump (a data folder may be shared,
read-only or version-controlled): ``$ZCBENCH_CACHE`` when set, else the platform's user cache folder
(``platformdirs.user_cache_dir("zcbench")``: ``$XDG_CACHE_HOME/zcbench`` or ``~/.cache/zcbench`` on
Linux, ``~/Library/Caches/zcbench`` on macOS, ``%LOCALAPPDATA%\\zcbench\\Cache`` on Windows). One file per
dump, named after the dump and a hash of its absolute path (two dumps of the same name never share
one). It is keyed by the dump's size and mtime plus a per-kind version: a changed dump or a new zcbench
layout rebuilds it. Writes are atomic (temporary file, then rename); an unreadable or foreign cache is
rebuilt, and one that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_SUFFIX = ".zcbench-cache.h5"
CACHE_ENV = "ZCBENCH_CACHE"


def cache_key(path: Path, version: int) -> dict[str, int]:
    st = path.stat()
    return {"dump_size": int(st.st_size), "dump_mtime_ns": int(st.st_mtime_ns), "version": int(version)}


def cache_dir() -> Path:
    """``$ZCBENCH_CACHE``, else the platform's user cache folder for zcbench."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("zcbench", appauthor=False))


def cache_path(path: Path) -> Path:
    """Where the cache of the dump at ``path`` lives: ``<cache dir>/<dump name>-<path hash>.zcbench-cache.h5``."""
    where = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:12]
    return cache_dir() / f"{Path(path).name.rstrip('/')}-{where}{CACHE_SUFFIX}"


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
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # the folder itself could not be made
            pass
        return False


def load_cached(
    path: Path, kind: str, version: int, build: Callable[[], dict[str, np.ndarray]], use_cache: bool = True
) -> dict[str, np.ndarray]:
    """``build()``'s arrays for the dump at ``path``, from the cache when it is current."""
    if not use_cache:
        return build()
    key = cache_key(path, version)
    cache = cache_path(path)
    if cache.is_file():
        arrays = read_cache(cache, kind, key)
        if arrays is not None:
            return arrays
    arrays = build()
    write_cache(cache, kind, key, arrays)
    return arrays
