"""How published scores relate to ours, and the agreement report between the two.

The transform table says how a source's published values relate to zcbench's raw proxy values; the
readers stamp it on every :class:`~zcbench.imports.base.ImportedRun` and :func:`agreement` applies
it to *our* column before comparing, so that "same implementation" shows up as ρ = 1 and a median
ratio of 1. Only NASLib's synflow is known to differ: NASLib stores ``log(s)`` / ``−log(−s)``
(``naslib/predictors/pruners/predictive.py``); Samsung's pickles hold the raw sum.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..report import stats

TRANSFORMS: dict[tuple[str, str], str] = {("naslib", "synflow"): "naslib_log"}  # (origin, proxy) -> name
TRANSFORM_FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"naslib_log": stats.naslib_log}
AGREEMENT_COLUMNS = ["space", "dataset", "proxy", "n", "spearman", "median_ratio", "note"]
META = {"space", "dataset", "index", "arch", "val_accuracy", "test_accuracy"}


def transform_for(origin: str, proxy: str) -> str:
    """The transform name for ``proxy`` published by ``origin`` ("" when the values are ours as-is)."""
    return TRANSFORMS.get((origin, proxy), "")


def apply_transform(name: str, values) -> np.ndarray:
    """``values`` as float64 after the named transform ("" = unchanged)."""
    v = np.asarray(values, dtype=np.float64)
    return TRANSFORM_FUNCS[name](v) if name else v


def compare(ours, theirs, transform: str = "") -> tuple[int, float, float, str]:
    """``(n, spearman, median_ratio, note)`` of our values (after ``transform``) against theirs over
    the architectures where both are finite; ratio = median of ours/theirs where theirs ≠ 0."""
    a = apply_transform(transform, ours)
    b = np.asarray(theirs, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    notes = [f"ours {transform}-transformed"] if transform else []
    rho = stats.spearman(a, b)
    if math.isnan(rho):
        notes.append("ρ undefined (constant values)")
    nz = b != 0
    ratio = float(np.median(a[nz] / b[nz])) if nz.any() else math.nan
    if not nz.all():
        notes.append(f"{int((~nz).sum())} zero published values left out of the ratio")
    return int(a.size), rho, ratio, "; ".join(notes)


def agreement(frame, origin: str = "naslib"):
    """One row per (space, dataset, proxy) where ``frame`` has both our ``proxy`` column and the
    imported ``proxy@origin`` column with ≥ 2 common finite values: ``space, dataset, proxy, n,
    spearman, median_ratio, note``. ``frame`` is the wide results frame (``zcbench.store.load_frame``);
    spaces are compared only within the same space string (``nb301`` and ``nb301[naslib]`` score
    different networks)."""
    import pandas as pd

    suffix = f"@{origin}"
    pairs = sorted(
        (c[: -len(suffix)], c)
        for c in frame.columns
        if isinstance(c, str) and c.endswith(suffix) and c[: -len(suffix)] in frame.columns
    )
    rows = []
    if pairs and len(frame):
        for (space, dataset), group in frame.groupby(["space", "dataset"], sort=True):
            for proxy, col in pairs:
                transform = transform_for(origin, proxy)
                n, rho, ratio, note = compare(group[proxy].to_numpy(float), group[col].to_numpy(float), transform)
                if n >= 2:
                    rows.append([space, dataset, proxy, n, rho, ratio, note])
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS).astype({"n": "int64"})
