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
from dataclasses import dataclass
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
    runs: dict[str, _Run] = {}
    duplicates = 0
    for src in ([out] if out.exists() else []) + sources:
        for attrs, cols in iter_runs(src):
            key = RunKey.from_attrs(attrs)
            rows = _rows(cols)
            if key.path not in runs:
                in_out = {r.arch: r for r in rows} if src == out else {}
                runs[key.path] = _Run(key, RunInfo.from_attrs(attrs), dict(attrs), str(src), RunRows(), in_out)
            run = runs[key.path]
            run.check(src, attrs, check_versions)
            duplicates += run.pool(src, rows)
    n_rows = 0
    with ResultStore(out, allow_mixed=not check_versions) as store:
        for run in runs.values():
            new = [r for a, r in run.merged.rows.items() if a not in run.in_out or run.in_out[a] is not r]
            store.append_many((run.key, run.info, r) for r in new)
            n_rows += len(new)
    return {"runs": len(runs), "rows": n_rows, "duplicates": duplicates}


@dataclass
class _Run:
    """One run of the merge: its key, the identity and attributes of the first input holding it, the rows
    pooled so far, and the rows the existing output already holds (not written again)."""

    key: RunKey
    info: RunInfo
    first: dict
    first_src: str
    merged: RunRows
    in_out: dict[str, Row]

    def check(self, src: Path, attrs: dict, check_versions: bool) -> None:
        """Refuse ``src``'s run when its identity differs from the first input's."""
        why = identity_conflict(self.first, RunInfo.from_attrs(attrs), allow_mixed=not check_versions)
        if why is not None:
            raise StoreError(f"{self.key.path}: cannot merge {src} into the run from {self.first_src}: {why}")
        for name in ("truth", "data_id"):  # what an older input did not record, a newer one fixes
            if not self.first.get(name) and attrs.get(name):
                self.first[name] = attrs[name]

    def pool(self, src: Path, rows: list[Row]) -> int:
        """Add ``src``'s rows under the merge rule; returns how many were values already held."""
        duplicates = 0
        for row in rows:
            old = self.merged.rows.get(row.arch)
            try:
                changed = self.merged.add(row)
            except RowConflict:
                raise StoreError(
                    f"{self.key.path}: {row.arch} scored {old.score!r} in {self.first_src} but {row.score!r} in "
                    f"{src}; refusing to merge"
                ) from None
            if not changed and old is not None and not row.failed:
                duplicates += 1
        return duplicates
