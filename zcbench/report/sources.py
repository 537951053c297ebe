"""Which scores a table is about: zcbench's own, or an imported source's (``<proxy>@<origin>`` columns).

A paper comparison names proxies by their bare names (``synflow``). ``--source naslib`` asks it about the
imported NAS-Bench-Suite-Zero scores instead of zcbench's: the ``synflow@naslib`` column then plays
``synflow`` (and zcbench's own columns are left out), so the published numbers can be checked against the
published scores they came from.
"""

from __future__ import annotations

import pandas as pd

from ..errors import UsageError
from ..store.columns import ACCURACY_COLUMNS, META_COLUMNS, is_accuracy_column, own_column


def origins(frame: pd.DataFrame) -> list[str]:
    """The imported sources a frame holds columns of."""
    return sorted({str(c).rsplit("@", 1)[1] for c in frame.columns if "@" in str(c) and not is_accuracy_column(c)})


def source_frame(frame: pd.DataFrame, source: str | None) -> pd.DataFrame:
    """``frame`` with the columns of ``source`` under their bare names (None or "zcbench": unchanged)."""
    if source in (None, "", "zcbench"):
        return frame
    suffix = f"@{source}"
    cols = [c for c in frame.columns if str(c).endswith(suffix) and not is_accuracy_column(c)]
    if not cols:
        have = ", ".join(origins(frame)) or "none"
        raise UsageError(f"no imported {source} scores in these results (imported sources: {have})")
    keep = [c for c in frame.columns if c in META_COLUMNS]
    own = [own_column(a, c) for c in cols for a in ACCURACY_COLUMNS if own_column(a, c) in frame.columns]
    bare = {c: c[: -len(suffix)] for c in cols}
    bare |= {own_column(a, c): own_column(a, bare[c]) for c in cols for a in ACCURACY_COLUMNS}  # their own accuracies
    out = frame[keep + cols + own].rename(columns=bare)
    # only the architectures the source scored take part
    return out[out[[c[: -len(suffix)] for c in cols]].notna().any(axis=1)].reset_index(drop=True)
