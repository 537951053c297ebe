"""Published figures and how ours compare with them.

A *paper* (``configs/papers/<name>.yaml``) holds published cells with their source and protocol, so
that :func:`compare_paper` can put ours | paper | Δ side by side and mark what cannot be computed:
a cell is never dropped, a missing score, result or accuracy is said in its ``status``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..aggregates import AGGREGATES, VOTE_INPUTS
from ..errors import UsageError
from ..store.columns import proxy_columns, target_column
from .aggregate import with_aggregates
from .correlation import correlation_table
from .presets import find_preset, preset_name, read_yaml
from .protocol import Protocol, load_protocol


@dataclass(frozen=True)
class PaperTable:
    """Published cells of one table: ``values[dataset][proxy]`` for one space and one metric."""

    id: str
    space: str
    metric: str
    protocol: str
    values: dict
    source: str = ""
    caption: str = ""
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Paper:
    name: str
    title: str
    source: str
    tables: tuple[PaperTable, ...]
    notes: str = ""


def load_paper(name: str) -> Paper:
    """A paper preset by name or YAML path (see ``configs/papers/*.yaml``)."""
    source = find_preset("paper", name)
    data = read_yaml(source)
    tables = []
    for i, t in enumerate(data.get("tables") or []):
        try:
            tables.append(
                PaperTable(
                    id=str(t.get("id", f"table{i + 1}")),
                    space=str(t["space"]),
                    metric=str(t.get("metric", "spearman")),
                    protocol=str(t.get("protocol", data.get("protocol", "plain"))),
                    values={
                        str(d): {str(p): float(v) for p, v in (cells or {}).items()} for d, cells in t["values"].items()
                    },
                    source=str(t.get("source", "")),
                    caption=str(t.get("caption", "")),
                    overrides=dict(t.get("overrides") or {}),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise UsageError(f"{source}: table {i + 1} is malformed ({type(err).__name__}: {err})") from None
    if not tables:
        raise UsageError(f"{source}: no tables")
    return Paper(
        str(data.get("name", preset_name(source))),
        str(data.get("title", "")),
        str(data.get("source", "")),
        tuple(tables),
        str(data.get("notes", "")),
    )


def _ours(present: pd.DataFrame, tab: PaperTable, proto: Protocol, notes: list[str]) -> pd.DataFrame:
    """Our correlation table for the proxies (and vote) one published table needs."""
    if not len(present):
        return pd.DataFrame()
    needed = sorted({p for cells in tab.values.values() for p in cells})
    have_cols = set(proxy_columns(present))
    want = [p for p in needed if p in have_cols]
    need_vote = "vote" in needed
    if not (want or need_vote):
        return pd.DataFrame()
    ours = correlation_table(present, replace(proto, vote=need_vote), [tab.metric], want or None)
    if not want and len(ours):  # only the vote row was asked for
        ours = ours[ours["proxy"] == "vote"]
    notes.extend(ours.attrs.get("notes", []))
    return ours


def _has_values(sub: pd.DataFrame, col: str) -> bool:
    return col in sub.columns and bool(np.isfinite(sub[col].to_numpy(dtype=float)).any())


def _cell(
    sub: pd.DataFrame, ours: pd.DataFrame, tab: PaperTable, proto: Protocol, dataset: str, proxy: str, published: float
) -> dict[str, Any]:
    """One published cell: ours, Δ and n when it can be computed, else why not in ``status``."""
    row: dict[str, Any] = {
        "table": tab.id,
        "space": tab.space,
        "dataset": dataset,
        "proxy": proxy,
        "metric": tab.metric,
        "protocol": proto.name,
        "target": proto.target,
        "sign": proto.sign,
        "ours": math.nan,
        "paper": published,
        "delta": math.nan,
        "n": 0,
        "status": "ok",
    }
    inputs = VOTE_INPUTS if proxy == "vote" else AGGREGATES[proxy].inputs if proxy in AGGREGATES else (proxy,)
    lacking = [p for p in inputs if not _has_values(sub, p)]
    if not len(sub):
        row["status"] = f"missing: no results for {tab.space}/{dataset}"
    elif not _has_values(
        sub, target_column(sub, VOTE_INPUTS[0] if proxy == "vote" else proxy, f"{proto.target}_accuracy")
    ):
        row["status"] = f"missing: no {proto.target} accuracies (scored without --dump, or the dump has none for them)"
    elif lacking:
        row["status"] = f"missing: no {', '.join(lacking)} scores"
    else:
        hit = ours[(ours["dataset"] == dataset) & (ours["proxy"] == proxy)] if len(ours) else ours
        if not len(hit) or not np.isfinite(hit.iloc[0][tab.metric]):
            row["status"] = "undefined (NaN correlation)"
        else:
            row["ours"] = float(hit.iloc[0][tab.metric])
            row["n"] = hit.iloc[0]["n"]
            row["delta"] = row["ours"] - published
    return row


def compare_paper(
    frame: pd.DataFrame, paper: Paper, target: str | None = None, tables: Sequence[str] | None = None
) -> pd.DataFrame:
    """ours | paper | Δ for every published cell, with ``status`` ``ok`` or why it is missing.

    Each table is computed under its own protocol (plus the table's ``overrides``; ``target``
    overrides both). A cell is never dropped: missing scores, results or accuracies are marked.
    """
    unknown = [t for t in tables or () if t not in {tab.id for tab in paper.tables}]
    if unknown:
        ids = ", ".join(tab.id for tab in paper.tables)
        raise UsageError(f"paper {paper.name} has no table {', '.join(unknown)} (its tables: {ids})")
    frame = with_aggregates(frame)
    rows = []
    captions: dict[str, list[str]] = {}
    notes: list[str] = []
    for tab in paper.tables:
        if tables and tab.id not in tables:
            continue
        over = dict(tab.overrides)
        if target is not None:
            over["target"] = target
        proto = load_protocol(tab.protocol, **over)
        captions.setdefault(proto.caption(), []).append(tab.id)
        present = frame[frame["space"] == tab.space] if "space" in frame.columns else frame.iloc[0:0]
        ours = _ours(present, tab, proto, notes)
        for dataset, cells in tab.values.items():
            sub = present[present["dataset"] == dataset] if len(present) else present
            rows.extend(_cell(sub, ours, tab, proto, dataset, proxy, published) for proxy, published in cells.items())
    out = pd.DataFrame(rows)
    parts = [f"{', '.join(ids)}: {cap}" for cap, ids in captions.items()]
    notes = list(dict.fromkeys(notes))
    out.attrs["notes"] = notes
    out.attrs["caption"] = (
        f"{paper.name}: {paper.title} — source {paper.source}. Δ = ours − paper; "
        "'missing' cells cannot be computed from these results. "
        + " | ".join(parts)
        + (" Notes: " + "; ".join(notes) + "." if notes else "")
    )
    return out


@dataclass(frozen=True)
class PaperCheck:
    """Whether every computable published cell is within ``tol`` of ours (``correlate --paper --check``)."""

    passed: bool
    summary: str  # one line: "check passed: ..." or "check failed: ..."
    failures: tuple[str, ...] = ()  # one line per cell beyond the tolerance


def check_paper(
    comparison: pd.DataFrame, tol: float, paper: str = "the paper", where: str = "the results"
) -> PaperCheck:
    """The check of a :func:`compare_paper` table: it fails when a computed cell differs by more than ``tol`` or
    when no cell can be computed at all (nothing checked is no pass)."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise UsageError(f"the check tolerance must be a number >= 0, got {tol!r}")
    computed = comparison[comparison["status"] == "ok"] if len(comparison) else comparison
    if computed.empty:
        return PaperCheck(False, f"check failed: no cell of {paper} could be computed from {where}")
    bad = check_failures(computed, tol)
    if bad:
        return PaperCheck(
            False, f"check failed: {len(bad)} of {len(computed)} computed cells differ by more than {tol}:", tuple(bad)
        )
    return PaperCheck(
        True,
        f"check passed: {len(computed)} computed cells within {tol} ({len(comparison) - len(computed)} not computable)",
    )


def check_failures(comparison: pd.DataFrame, tol: float) -> list[str]:
    """Cells whose |Δ| exceeds ``tol`` (empty list = pass)."""
    if not len(comparison):
        return []
    bad = comparison[np.abs(comparison["delta"].astype(float)) > tol]
    return [
        f"{r.table} {r.space}/{r.dataset} {r.proxy} {r.metric}: "
        f"ours {r.ours:.3f} vs paper {r.paper:.3f} (Δ {r.delta:+.3f})"
        for r in bad.itertuples()
    ]
