"""Population proxies (``az_nas``, ``te_nas``) as columns of a results frame, computed over a set.

Their stored runs are their components (``zcbench.aggregates``); an architecture's value is a sum of its
ranks among the architectures compared, so it is computed here, per (space, dataset) table, from the rows
that table holds — after ``--space``/``--dataset`` selection, which only drops whole tables — and, where a
protocol samples architectures, again within each sample (``correlation.py``). Every command that reads
scores (correlate, plot, compare, search, the API) adds the columns with :func:`with_aggregates`, so they
all see the same values; a caption says over which set (:func:`aggregate_note`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..aggregates import AGGREGATE_SET, AGGREGATES
from ..store.columns import ACCURACY_COLUMNS, own_column, target_column


def available(frame: pd.DataFrame) -> list[str]:
    """The aggregates whose inputs are all columns of ``frame``."""
    return [name for name, agg in AGGREGATES.items() if all(c in frame.columns for c in agg.inputs)]


def aggregate_scores(frame: pd.DataFrame, name: str, rows: np.ndarray | None = None) -> np.ndarray:
    """``name``'s scores over the given rows of ``frame`` (positions; all rows by default), as one set."""
    agg = AGGREGATES[name]
    sub = frame if rows is None else frame.iloc[rows]
    return agg.combine([sub[c].to_numpy(dtype=np.float64) for c in agg.inputs])


def with_aggregates(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a column per available aggregate (recomputed if present), each (space, dataset)
    table ranked on its own; placed before the accuracy columns. ``frame`` itself is not changed."""
    names = available(frame)
    if not names or not len(frame):
        return frame
    out = frame.copy()
    keys = [c for c in ("space", "dataset") if c in out.columns]
    groups = out.groupby(keys, sort=False).indices.values() if keys else [np.arange(len(out))]
    for name in names:
        values = np.full(len(out), np.nan)
        for rows in groups:
            values[rows] = aggregate_scores(out, name, np.asarray(rows))
        if name in out.columns:
            out[name] = values
        else:
            at = out.columns.get_loc("val_accuracy") if "val_accuracy" in out.columns else len(out.columns)
            out.insert(int(at), name, values)
        _own_accuracies(out, name)
    out.attrs.update(frame.attrs)
    return out


def _own_accuracies(frame: pd.DataFrame, name: str) -> None:
    """An aggregate is compared with its components' accuracies: where they carry their own (another truth
    than the table's, :mod:`zcbench.store.columns`), the aggregate gets those columns too."""
    for acc in ACCURACY_COLUMNS:
        cols = {target_column(frame, c, acc) for c in AGGREGATES[name].inputs}
        own = own_column(acc, name)
        if len(cols) == 1 and cols != {acc}:
            frame[own] = frame[cols.pop()]
        elif own in frame.columns:
            del frame[own]


def aggregate_note(proxies: Iterable[str]) -> str:
    """The caption sentence for the aggregates among ``proxies`` ('' when there are none)."""
    names = [p for p in dict.fromkeys(proxies) if p in AGGREGATES]
    if not names:
        return ""
    return f"{', '.join(names)}: population proxies, {AGGREGATE_SET}"


def sampled_scores(block: pd.DataFrame, name: str, idx_sets: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``name``'s scores within each of ``idx_sets`` (a sampling protocol's samples), each its own set."""
    return [aggregate_scores(block, name, idx) for idx in idx_sets]
