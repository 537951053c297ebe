"""``zcbench merge``: combine results files (typically ``--shard i/n`` runs) into one.

Rows of the same run (same group path) are pooled under exactly the rules a ``score`` resume
follows (:mod:`zcbench.store.schema`): the runs' identities must agree (dump and schedule, minibatch;
device kind and versions unless ``--ignore-versions``), an architecture appears once, a value
replaces a recorded failure, and an architecture scored differently in two inputs is refused. Every
input is checked before anything is written, so a refused merge leaves the output as it was. An
existing output takes part in the merge as one more input.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import StoreError, UsageError
from . import ResultStore, RunInfo, RunKey, identity_conflict, iter_runs
from .rows import RunRows
from .schema import Row, RowConflict


def _rows(cols) -> list[Row]:
    n = len(cols["arch"])
    return [Row(*(cols[c][j].item() if hasattr(cols[c][j], "item") else cols[c][j] for c in cols)) for j in range(n)]


def merge_results(inputs: Sequence[str | Path], out: str | Path, check_versions: bool = True) -> dict[str, int]:
    """Merge ``inputs`` into ``out``; returns counts {'runs', 'rows', 'duplicates'}.

    Raises StoreError when an input is missing or foreign, or when runs conflict (nothing written)."""
    out = Path(out)
    if not inputs:
        raise UsageError("merge needs at least one input file")
    sources = [Path(p) for p in inputs]
    for p in sources:
        if p.resolve() == out.resolve():
            raise UsageError(f"{p}: the output cannot also be an input (an existing output is merged anyway)")
    # group path -> (key, info of the first source, its attrs, its name, merged rows, archs already in out)
    runs: dict[str, tuple[RunKey, RunInfo, dict, str, RunRows, dict[str, Row]]] = {}
    duplicates = 0
    for src in ([out] if out.exists() else []) + sources:
        for attrs, cols in iter_runs(src):
            key = RunKey.from_attrs(attrs)
            rows = _rows(cols)
            if key.path not in runs:
                in_out = {r.arch: r for r in rows} if src == out else {}
                runs[key.path] = (key, RunInfo.from_attrs(attrs), dict(attrs), str(src), RunRows(), in_out)
            _, _, first, first_src, merged, _ = runs[key.path]
            why = identity_conflict(first, RunInfo.from_attrs(attrs), allow_mixed=not check_versions)
            if why is not None:
                raise StoreError(f"{key.path}: cannot merge {src} into the run from {first_src}: {why}")
            for name in ("truth", "data_id"):  # what an older input did not record, a newer one fixes
                if not first.get(name) and attrs.get(name):
                    first[name] = attrs[name]
            for row in rows:
                old = merged.rows.get(row.arch)
                try:
                    changed = merged.add(row)
                except RowConflict:
                    raise StoreError(
                        f"{key.path}: {row.arch} scored {old.score!r} in {first_src} but {row.score!r} in {src}; "
                        "refusing to merge"
                    ) from None
                if not changed and old is not None and not row.failed:
                    duplicates += 1
    n_rows = 0
    with ResultStore(out, allow_mixed=not check_versions) as store:
        for key, info, _, _, merged, in_out in runs.values():
            new = [r for a, r in merged.rows.items() if a not in in_out or in_out[a] is not r]
            store.append_many((key, info, r) for r in new)
            n_rows += len(new)
    return {"runs": len(runs), "rows": n_rows, "duplicates": duplicates}
