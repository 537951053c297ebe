"""Which scores a table is about: zcbench's own, or an imported source's (``<proxy>@<origin>`` columns).

A paper comparison names proxies by their bare names (``synflow``). ``--source naslib`` asks it about the
imported NAS-Bench-Suite-Zero scores instead of zcbench's: the ``synflow@naslib`` column then plays
``synflow`` (and zcbench's own columns are left out), so the published numbers can be checked against the
published scores they came from.
"""

from __future__ import annotations

import pandas as pd

from ..errors import UsageError

META = ("space", "dataset", "index", "arch", "val_accuracy", "test_accuracy")


def origins(frame: pd.DataFrame) -> list[str]:
    """The imported sources a frame holds columns of."""
    return sorted({str(c).rsplit("@", 1)[1] for c in frame.columns if "@" in str(c)})


def source_frame(frame: pd.DataFrame, source: str | None) -> pd.DataFrame:
    """``frame`` with the columns of ``source`` under their bare names (None or "zcbench": unchanged)."""
    if source in (None, "", "zcbench"):
        return frame
    suffix = f"@{source}"
    cols = [c for c in frame.columns if str(c).endswith(suffix)]
    if not cols:
        have = ", ".join(origins(frame)) or "none"
        raise UsageError(f"no imported {source} scores in these results (imported sources: {have})")
    keep = [c for c in frame.columns if c in META]
    out = frame[keep + cols].rename(columns={c: c[: -len(suffix)] for c in cols})
    # only the architectures the source scored take part
    return out[out[[c[: -len(suffix)] for c in cols]].notna().any(axis=1)].reset_index(drop=True)
