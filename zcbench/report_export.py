"""Rendering the results frame for ``zcbench export`` (CSV, JSON, terminal table)."""

from __future__ import annotations

import json
import math

from .errors import UsageError
from .store import load_frame


def export_frame(
    results,
    fmt: str = "csv",
    sort_by: str | None = None,
    head: int | None = None,
    space: str | None = None,
    dataset: str | None = None,
) -> str:
    df = load_frame(results)
    if space:
        df = df[df["space"] == space]
    if dataset:
        df = df[df["dataset"] == dataset]
    if sort_by:
        if sort_by not in df.columns:
            raise UsageError(f"cannot sort by {sort_by!r}: columns are {', '.join(df.columns)}")
        df = df.sort_values(sort_by, ascending=False, na_position="last", kind="stable")
    if head is not None:
        df = df.head(head)
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        records = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict(orient="records")
        ]
        return json.dumps(records, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)) + "\n"
    with_pd = df.copy()
    # a terminal table leaves out what carries no information (no dump: no index, no accuracies)
    empty = [c for c in ("val_accuracy", "test_accuracy") if c in with_pd and with_pd[c].isna().all()]
    if "index" in with_pd and (with_pd["index"] < 0).all():
        empty.append("index")
    with_pd = with_pd.drop(columns=empty)
    with_pd.insert(0, "rank", range(1, len(with_pd) + 1))
    return with_pd.to_string(index=False, float_format=lambda v: f"{v:.6g}") + "\n"
