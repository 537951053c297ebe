"""Selectors (``--space``, ``--dataset``, ``--proxy``) that must match something.

A selector that matches nothing is almost always a typo; printing an empty table for it would look
like a result. Every command that filters a results frame goes through here, so each refuses the
same way: one line naming what the file does hold.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

import pandas as pd

from ..errors import UsageError


def _values(selector: str | Iterable[str] | None) -> list[str]:
    if selector is None:
        return []
    if isinstance(selector, str):
        return [selector] if selector else []
    return [str(s) for s in selector if s]


def _listing(values: Iterable[str]) -> str:
    vals = sorted({str(v) for v in values})
    return ", ".join(vals) if vals else "nothing"


def select_rows(
    frame: pd.DataFrame,
    spaces: str | Iterable[str] | None = None,
    datasets: str | Iterable[str] | None = None,
    where: str = "the results",
) -> pd.DataFrame:
    """The rows of ``frame`` in ``spaces`` × ``datasets`` (all when a selector is empty).

    Raises UsageError when any one selector value matches no row (``where`` names the source in the
    message, e.g. the results file), naming the spaces or (space/dataset) pairs that exist."""
    spaces, datasets = _values(spaces), _values(datasets)
    if not spaces and not datasets:
        return frame
    have_spaces = set(frame["space"].astype(str)) if "space" in frame.columns else set()
    for s in spaces:
        if s not in have_spaces:
            raise UsageError(f"no rows for space {s} in {where} (has: {_listing(have_spaces)})")
    block = frame[frame["space"].isin(spaces)] if spaces else frame
    if datasets:
        pairs = {f"{s}/{d}" for s, d in zip(block["space"].astype(str), block["dataset"].astype(str))}
        have_datasets = set(block["dataset"].astype(str))
        for d in datasets:
            if d not in have_datasets:
                what = f"{spaces[0]}/{d}" if len(spaces) == 1 else f"dataset {d}"
                raise UsageError(f"no rows for {what} in {where} (has: {_listing(pairs)})")
        block = block[block["dataset"].isin(datasets)]
    return block


def match_columns(
    names: Sequence[str], patterns: Iterable[str] | None, where: str = "the results", allow: Iterable[str] = ()
) -> list[str]:
    """``names`` matching the patterns (names, wildcards, comma lists), in pattern order; all of them
    without patterns. A pattern that matches no name is an error naming the columns there are, unless
    it is one of ``allow`` (e.g. ``vote``, a row that has no column)."""
    pats = [part.strip() for p in _values(patterns) for part in str(p).split(",") if part.strip()]
    if not pats:
        return list(names)
    allowed = set(allow)
    out: list[str] = []
    for pat in pats:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pat)]
        if not hits and pat not in allowed:
            raise UsageError(f"no proxy matches {pat!r} in {where} (has: {_listing(names)})")
        out.extend(h for h in hits if h not in out)
    return out
