"""``zcbench merge``: combine results files (typically ``--shard i/n`` runs) into one.

Rows of the same run (same group path: space, dataset, proxy and every setting a score depends on)
are pooled; runs whose recorded settings nevertheless disagree (another dump, other library
versions) are refused rather than silently mixed, and so is an architecture scored differently in
two inputs. The output is written through :class:`ResultStore`, so it gets the same crash safety
and lock as a ``score`` run; an existing output file takes part in the merge as one more input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreError, UsageError
from .store import COLUMNS, ResultStore, Row, RunInfo, RunKey, iter_runs

# Attributes that must agree between inputs for one run (the group path already fixes the rest).
_MUST_AGREE = ("seed", "batch_size", "dataload", "dataload_info", "data_source", "options", "dump")
_VERSIONS = ("zcbench", "torch")


def _key_of(attrs: dict[str, Any]) -> RunKey:
    return RunKey(
        space=str(attrs["space"]),
        dataset=str(attrs["dataset"]),
        proxy=str(attrs["proxy"]),
        seed=int(attrs["seed"]),
        batch_size=int(attrs["batch_size"]),
        dataload=str(attrs["dataload"]),
        dataload_info=int(attrs["dataload_info"]),
        data_source=str(attrs["data_source"]),
        data_free=bool(attrs.get("data_free", False)),
        options=str(attrs.get("options", "")),
    )


def _rows(cols: dict[str, np.ndarray]) -> list[Row]:
    n = len(cols["arch"])
    return [Row(*(cols[c][j].item() if hasattr(cols[c][j], "item") else cols[c][j] for c in COLUMNS)) for j in range(n)]


def _same_score(a: Row, b: Row) -> bool:
    both_nan = math.isnan(a.score) and math.isnan(b.score)
    return both_nan or a.score == b.score


def merge_results(inputs: Sequence[str | Path], out: str | Path, check_versions: bool = True) -> dict[str, int]:
    """Merge ``inputs`` into ``out``; returns counts {'runs', 'rows', 'duplicates'}.

    Raises StoreError when an input is missing or foreign, or when runs conflict."""
    out = Path(out)
    if not inputs:
        raise UsageError("merge needs at least one input file")
    sources = [Path(p) for p in inputs]
    for p in sources:
        if p.resolve() == out.resolve():
            raise UsageError(f"{p}: the output cannot also be an input (an existing output is merged anyway)")
    # run path -> (key, info, attrs of first source, source name, {arch: (row, already in out)})
    runs: dict[str, tuple[RunKey, RunInfo, dict, str, dict[str, tuple[Row, bool]]]] = {}
    duplicates = 0
    all_sources = ([out] if out.exists() else []) + sources
    for src in all_sources:
        for attrs, cols in iter_runs(src):
            key = _key_of(attrs)
            if key.path not in runs:
                info = RunInfo(dump=str(attrs.get("dump", "")), device=str(attrs.get("device", "cpu")))
                runs[key.path] = (key, info, attrs, str(src), {})
            _, _, first, first_src, rows = runs[key.path]
            names = _MUST_AGREE + (_VERSIONS if check_versions else ())
            for name in names:
                a, b = first.get(name), attrs.get(name)
                if a is not None and b is not None and str(a) != str(b):
                    raise StoreError(
                        f"{key.path}: {name} differs between {first_src} ({a}) and {src} ({b}); refusing to merge"
                        + (" (--ignore-versions to allow)" if name in _VERSIONS else "")
                    )
            latest = {r.arch: r for r in _rows(cols)}  # within one file the last row of an arch wins
            for row in latest.values():
                old, _ = rows.get(row.arch, (None, False))
                if old is None or (old.error and not row.error):
                    rows[row.arch] = (row, src == out)  # a real value replaces a recorded failure
                elif row.error and not old.error:
                    continue
                elif _same_score(old, row):
                    duplicates += 1
                else:
                    raise StoreError(
                        f"{key.path}: {row.arch} scored {old.score!r} in {first_src} but "
                        f"{row.score!r} in {src}; refusing to merge"
                    )
    n_rows = 0
    with ResultStore(out) as store:
        for key, info, _, _, rows in runs.values():
            new = [r for r, in_out in rows.values() if not in_out]
            store.append_many((key, info, r) for r in new)
            n_rows += len(new)
    return {"runs": len(runs), "rows": n_rows, "duplicates": duplicates}
