"""Reading the columns of a run and folding the journal into them, one rule for readers and the writer.

A run's rows are the HDF5 group's columns followed by the journal's rows for the same group path,
each journal row applied with :func:`zcbench.store.schema.merge_row`, so a replayed row is not
counted twice and a retried failure replaces its old row in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from .schema import COLUMNS, FORMAT, Row, RowConflict, RunInfo, RunKey, merge_row


def h5py():
    import h5py as _h5py

    return _h5py


def check_results_file(path: Path) -> None:
    """Raise StoreError unless ``path`` is absent or a readable zcbench HDF5 file."""
    if not path.exists():
        return
    try:
        with h5py().File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise StoreError(f"{path}: not a zcbench results file (refusing to touch it)")
    except StoreError:
        raise
    except (OSError, ValueError) as err:
        raise StoreError(f"{path}: unreadable HDF5 file ({str(err).splitlines()[0]})") from None


def journal_path(path: Path) -> Path:
    return Path(str(path) + ".journal")


def read_group(group) -> list[Row]:
    """The rows stored in one HDF5 run group, in file order."""
    cols = {c: (group[c].asstr()[()] if c in ("arch", "error") else group[c][()]) for c in COLUMNS}
    return [
        Row(*(cols[c][j].item() if hasattr(cols[c][j], "item") else cols[c][j] for c in COLUMNS))
        for j in range(len(cols["arch"]))
    ]


def group_attrs(group) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in group.attrs.items()}


def read_journal(path: Path) -> list[tuple[RunKey, RunInfo, Row]]:
    """Complete lines of a journal (a torn last line of a killed writer is ignored)."""
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                d = json.loads(line)
                out.append((RunKey(**d["key"]), RunInfo(**d["info"]), Row(**d["row"])))
            except (ValueError, TypeError, KeyError):
                continue
    return out


class RunRows:
    """The rows of one run keyed by architecture, in insertion order, with the merge rule applied."""

    def __init__(self, rows: list[Row] | None = None) -> None:
        self.rows: dict[str, Row] = {}
        for r in rows or ():
            self.rows.setdefault(r.arch, r)  # a file written before the invariant: first row wins

    def add(self, row: Row, strict: bool = True) -> bool:
        """Apply one incoming row; True when it changed the run. ``strict`` raises on a conflict."""
        try:
            keep = merge_row(self.rows.get(row.arch), row)
        except RowConflict:
            if strict:
                raise
            return False
        if keep is None:
            return False
        self.rows[row.arch] = keep
        return True

    def columns(self) -> dict[str, np.ndarray]:
        rows = list(self.rows.values())
        return {c: np.asarray([getattr(r, c) for r in rows]) for c in COLUMNS}


def empty_columns() -> dict[str, np.ndarray]:
    return RunRows().columns()


def runs_with_journal(path: Path) -> dict[str, tuple[dict[str, Any], RunRows]]:
    """Every run of the file plus its journal: {group path: (attributes, rows)}."""
    runs: dict[str, tuple[dict[str, Any], RunRows]] = {}
    if path.exists():
        check_results_file(path)
        with h5py().File(path, "r") as f:

            def visit(name, obj):
                if isinstance(obj, h5py().Group) and "arch" in obj:
                    runs[name] = (group_attrs(obj), RunRows(read_group(obj)))

            f.visititems(visit)
    for key, info, row in read_journal(journal_path(path)):
        if key.path not in runs:
            from dataclasses import asdict

            runs[key.path] = (asdict(key) | info.attrs(), RunRows())
        runs[key.path][1].add(row, strict=False)
    return runs
