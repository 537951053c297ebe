"""The results frame's vocabulary (``zcbench.store.load_frame``): which columns are metadata, which are scores."""

from __future__ import annotations

import pandas as pd

META_COLUMNS = ("space", "dataset", "index", "arch", "val_accuracy", "test_accuracy")


def proxy_columns(frame: pd.DataFrame) -> list[str]:
    """Score columns: numeric columns that are not metadata, timings or error strings (``vote``
    has no column of its own: it is computed from synflow, jacov and snip)."""
    out = []
    for c in frame.columns:
        if c in META_COLUMNS or c == "vote" or str(c).endswith(("_time", "_seconds", "_error")):
            continue
        if pd.api.types.is_numeric_dtype(frame[c]):
            out.append(str(c))
    return out
