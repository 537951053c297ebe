"""Rendering the results frame for ``zcbench export`` (CSV, JSON, terminal table)."""

from __future__ import annotations

from ..errors import UsageError
from ..formatting import format_frame
from .selection import select_rows

EXPORT_FORMATS = ("csv", "json", "table")


def export_frame(
    results,
    fmt: str = "csv",
    sort_by: str | None = None,
    head: int | None = None,
    space: str | None = None,
    dataset: str | None = None,
) -> str:
    """The results file's rows, filtered, sorted (descending) and cut, as CSV (full precision),
    JSON (NaN → null) or a terminal table (6 significant digits: scores span many magnitudes).
    A ``space``/``dataset`` the file does not hold is an error naming what it holds."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(EXPORT_FORMATS)})")
    if head is not None and (isinstance(head, bool) or not isinstance(head, int) or head < 1):
        raise UsageError(f"--head must be a positive integer, got {head!r}")
    from ..store import load_frame  # h5py only when a file is read: importing zcbench.report stays light

    df = select_rows(load_frame(results), space, dataset, str(results))
    if sort_by:
        if sort_by not in df.columns:
            raise UsageError(f"cannot sort by {sort_by!r}: columns are {', '.join(df.columns)}")
        df = df.sort_values(sort_by, ascending=False, na_position="last", kind="stable")
    if head is not None:
        df = df.head(head)
    if fmt == "csv":
        return df.to_csv(index=False)  # full precision: this is the machine-readable copy of the file
    if fmt == "json":
        return format_frame(df, "json")
    shown = df.copy()
    # a terminal table leaves out what carries no information (no dump: no index, no accuracies)
    empty = [c for c in ("val_accuracy", "test_accuracy") if c in shown and shown[c].isna().all()]
    if "index" in shown and (shown["index"] < 0).all():
        empty.append("index")
    shown = shown.drop(columns=empty)
    shown.insert(0, "rank", range(1, len(shown) + 1))
    return format_frame(shown, "table", float_spec=".6g")
