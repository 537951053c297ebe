"""Correlation tables: one row per (space, dataset, proxy) of the long results frame, under a protocol.

Everything here works on the frame of ``zcbench.store.load_frame``. The steps of one (space,
dataset) block are separate functions: the target and the pool of architectures that have one, the
index sets (all of the pool, or the protocol's seeded samples), one proxy's metrics on those sets,
the vote row, and the bootstrap intervals.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..aggregates import AGGREGATES, VOTE_INPUTS
from ..errors import UsageError
from ..store.columns import mixed_truth_note, proxy_columns, target_column
from . import stats
from .aggregate import aggregate_note, sampled_scores, with_aggregates
from .protocol import TRANSFORMS, Protocol, metric_fn
from .selection import match_columns
from .significance import Bootstrap


def select_columns(names: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """``names`` matching any of the patterns (wildcards, comma lists), in pattern order; all without patterns."""
    if not patterns:
        return list(names)
    out: list[str] = []
    for pat in patterns:
        for part in str(pat).split(","):
            hits = [n for n in names if fnmatch.fnmatchcase(n, part.strip())]
            out.extend(h for h in hits if h not in out)
    return out


def _scores(block: pd.DataFrame, proxy: str, protocol: Protocol) -> np.ndarray:
    s = block[proxy].to_numpy(dtype=np.float64)
    t = protocol.transforms.get(proxy)
    return TRANSFORMS[t](s) if t else s


def _finish(value: float, is_corr: bool, protocol: Protocol) -> float:
    """A correlation under the protocol's sign and undefined-value conventions (other metrics as they are)."""
    if not is_corr:
        return value
    return stats.fill_corr_nan(stats.apply_sign(value, protocol.sign), protocol.corr_nan)


def _plan(
    frame: pd.DataFrame,
    protocol: Protocol,
    metrics: Sequence[str] | None,
    proxies: Sequence[str] | None,
    where: str = "the results",
) -> tuple[list[str], bool, list[str]]:
    """Check the request before any work: the metric list (with ``vote`` when voting), whether to
    vote, and the proxy columns chosen (each pattern must match one)."""
    metrics = list(metrics or protocol.metrics)
    for m in metrics:
        metric_fn(m)
    want_vote = protocol.vote
    if want_vote and "vote" not in metrics:
        metrics.append("vote")
    missing = [c for c in ("space", "dataset") if c not in frame.columns]
    if missing:
        raise UsageError(f"results frame lacks column(s) {', '.join(missing)}")
    chosen = match_columns(proxy_columns(frame), proxies, where, allow=("vote",) if want_vote else ())
    return metrics, want_vote, chosen


def _target_and_pool(block: pd.DataFrame, tcol: str, protocol: Protocol, label: str, notes: list[str]):
    """The target accuracies in column ``tcol`` (NaN where absent) and the indices of the architectures that
    have one."""
    if tcol in block.columns:
        target = block[tcol].to_numpy(dtype=np.float64)
    else:
        target = np.full(len(block), np.nan)
    pool = np.flatnonzero(np.isfinite(target))
    if pool.size == 0:
        whose = f" for {tcol.split(':', 1)[1]}" if ":" in tcol else ""
        notes.append(
            f"{label}: no {protocol.target} accuracies{whose} (scored without --dump, or the dump has none for them)"
        )
    elif pool.size < target.size and ":" not in tcol:  # a run's own column covers its own architectures only
        notes.append(
            f"{label}: {target.size - pool.size} of {target.size} architectures have no {protocol.target} "
            "accuracy (left out)"
        )
    return target, pool


def _index_sets(pool: np.ndarray, protocol: Protocol, label: str, notes: list[str]) -> list[np.ndarray]:
    """The architectures each correlation is computed on: the whole pool, or one seeded sample per seed."""
    if not protocol.sample_size:
        return [pool]
    size = int(protocol.sample_size)
    if 0 < pool.size < size:
        notes.append(
            f"{label}: only {pool.size} architectures with a {protocol.target} accuracy, "
            f"fewer than {protocol.sample_size}: every seed uses all of them"
        )
    return [pool[stats.sample_indices(pool.size, size, s)] for s in protocol.seeds]


def _proxy_samples(
    score: np.ndarray | list[np.ndarray],
    target: np.ndarray,
    idx_sets: list[np.ndarray],
    metrics: list[str],
    protocol: Protocol,
) -> tuple[list[int], dict[str, list[float]]]:
    """One proxy's architecture count and metric values on every index set. ``score`` is the column, or
    (a population proxy under a sampling protocol) its values within each set, computed on that set."""
    ns: list[int] = []
    values: dict[str, list[float]] = {m: [] for m in metrics}
    for k, idx in enumerate(idx_sets):
        s = score[k] if isinstance(score, list) else score[idx]
        cs, ct = stats.clean_pair(s, target[idx], protocol.score_nan)
        ns.append(int(cs.size))
        for m in metrics:
            fn, is_corr = metric_fn(m)
            values[m].append(_finish(fn(cs, ct), is_corr, protocol))
    return ns, values


def _vote_samples(
    block: pd.DataFrame,
    target: np.ndarray,
    idx_sets: list[np.ndarray],
    metrics: list[str],
    protocol: Protocol,
    label: str,
    notes: list[str],
) -> tuple[list[int], dict[str, list[float]]]:
    """The vote's architecture count and value on every index set (other metrics are NaN on this row).
    The pairwise vote is quadratic in n, so sets above ``vote_max_n`` are skipped with a note."""
    ns: list[int] = []
    values: dict[str, list[float]] = {m: [] for m in metrics}
    for idx in idx_sets:
        mat = np.vstack([_scores(block.iloc[idx], p, protocol) for p in VOTE_INPUTS])
        if idx.size > protocol.vote_max_n:
            v = math.nan
            notes.append(f"{label}: vote skipped, {idx.size} > vote_max_n {protocol.vote_max_n}")
        else:
            v = stats.vote(mat, target[idx], protocol.score_nan)
        ns.append(int(np.all(np.isfinite(mat), axis=0).sum()) if protocol.score_nan == "omit" else int(idx.size))
        for m in metrics:
            values[m].append(v if m == "vote" else math.nan)
    return ns, values


def _summary(ns: list[int], values: dict[str, list[float]], n_sets: int) -> dict[str, Any]:
    """``n`` (an int when every set had the same count, else their mean), ``samples`` and each metric's mean."""
    row: dict[str, Any] = {
        "n": int(ns[0]) if len(set(ns)) == 1 else float(np.mean(ns)) if ns else 0,
        "samples": n_sets,
    }
    for m, vals in values.items():
        row[m] = float(np.mean(vals)) if vals else math.nan
    return row


def _ci_columns(
    score: np.ndarray, target: np.ndarray, pool: np.ndarray, metrics: list[str], protocol: Protocol, boot: Bootstrap
) -> dict[str, float]:
    """``<metric>_lo/_hi``: percentile bootstrap intervals over the whole pool."""
    cs, ct = stats.clean_pair(score[pool], target[pool], protocol.score_nan)
    out: dict[str, float] = {}
    for m in metrics:
        fn, is_corr = metric_fn(m)
        lo, hi = stats.bootstrap_ci(
            lambda a, b, fn=fn, is_corr=is_corr: _finish(fn(a, b), is_corr, protocol),
            cs,
            ct,
            boot.resamples,
            level=boot.confidence,
            seed=boot.seed,
        )
        out[f"{m}_lo"], out[f"{m}_hi"] = lo, hi
    return out


def _row_head(space: str, dataset: str, proxy: str, protocol: Protocol) -> dict[str, Any]:
    return {
        "space": space,
        "dataset": dataset,
        "proxy": proxy,
        "target": protocol.target,
        "protocol": protocol.name,
        "sign": protocol.sign,
        "score_nan": protocol.score_nan,
        "corr_nan": protocol.corr_nan,
    }


@dataclass(frozen=True)
class _Plan:
    """What every (space, dataset) block of one table computes."""

    proxies: list[str]
    metrics: list[str]
    want_vote: bool
    protocol: Protocol
    ci: Bootstrap | None  # intervals with these settings, or none


def _block_rows(space: str, dataset: str, block: pd.DataFrame, plan: _Plan, notes: list[str]) -> list[dict[str, Any]]:
    """The rows of one (space, dataset) block: each proxy, then the vote."""
    proxies, metrics, want_vote, protocol = plan.proxies, plan.metrics, plan.want_vote, plan.protocol
    label = f"{space}/{dataset}"
    block = block.reset_index(drop=True)
    sets: dict[str, tuple[np.ndarray, np.ndarray, list[np.ndarray]]] = {}

    def on(proxy: str) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """(target, pool, index sets) of ``proxy``'s own accuracies, once per accuracy column."""
        tcol = target_column(block, proxy, f"{protocol.target}_accuracy")
        if tcol not in sets:
            target, pool = _target_and_pool(block, tcol, protocol, label, notes)
            sets[tcol] = (target, pool, _index_sets(pool, protocol, label, notes))
        return sets[tcol]

    rows = []
    for proxy in proxies:
        target, pool, idx_sets = on(proxy)
        score = _scores(block, proxy, protocol)
        per_set = sampled_scores(block, proxy, idx_sets) if proxy in AGGREGATES and protocol.sample_size else score
        row = _row_head(space, dataset, proxy, protocol)
        row.update(_summary(*_proxy_samples(per_set, target, idx_sets, metrics, protocol), len(idx_sets)))
        if plan.ci is not None:
            row.update(_ci_columns(score, target, pool, metrics, protocol, plan.ci))
        rows.append(row)
    mixed = mixed_truth_note(block, label, [*proxies, *(VOTE_INPUTS if want_vote else ())])
    if mixed:
        notes.append(mixed)
    if want_vote and not all(p in block.columns for p in VOTE_INPUTS):
        notes.append(f"{label}: vote needs {', '.join(VOTE_INPUTS)} scores")
    elif want_vote and len({target_column(block, p, f"{protocol.target}_accuracy") for p in VOTE_INPUTS}) > 1:
        notes.append(f"{label}: vote needs {', '.join(VOTE_INPUTS)} scored against the same accuracies")
    elif want_vote:
        target, _, idx_sets = on(VOTE_INPUTS[0])
        row = _row_head(space, dataset, "vote", protocol)
        row.update(_summary(*_vote_samples(block, target, idx_sets, metrics, protocol, label, notes), len(idx_sets)))
        rows.append(row)
    return rows


def correlation_table(
    frame: pd.DataFrame,
    protocol: Protocol | None = None,
    metrics: Sequence[str] | None = None,
    proxies: Sequence[str] | None = None,
    *,
    ci: bool = False,
    ties: bool = False,
    resampling: Bootstrap | None = None,
    where: str = "the results",
) -> pd.DataFrame:
    """One row per (space, dataset, proxy) of ``frame``: ``n`` and each metric under ``protocol`` (its
    ``vote`` field says whether the vote row is added; select spaces and datasets with
    :func:`~zcbench.report.selection.select_rows` first).

    Columns: ``space, dataset, proxy, target, protocol, sign, score_nan, corr_nan, n, samples``,
    then the metrics (and ``<metric>_lo/_hi`` with ``ci``, ``tied`` with ``ties``: see
    :func:`mark_ties`; both resample with ``resampling``, default 1000 resamples, seed 0, 95%). ``n`` counts
    the architectures that entered one correlation (per sample when sampling). ``df.attrs['notes']`` holds
    caveats (e.g. fewer architectures than the sample size) that belong in the caption. A proxy selector
    that matches nothing is a UsageError naming what ``frame`` (``where``) holds, never an empty table.
    """
    protocol = protocol or Protocol()
    boot = resampling or Bootstrap(resamples=DEFAULT_RESAMPLES)
    check_resampling(boot.resamples, boot.seed)
    frame = with_aggregates(frame)
    metrics, want_vote, chosen = _plan(frame, protocol, metrics, proxies, where)
    tie_metric = _tie_metric(metrics) if ties else None
    plan = _Plan(chosen, metrics, want_vote, protocol, boot if ci else None)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for (space, dataset), block in frame.groupby(["space", "dataset"], sort=True):
        rows.extend(_block_rows(space, dataset, block, plan, notes))
    out = pd.DataFrame(rows)
    if aggregate_note(chosen):
        notes.append(aggregate_note(chosen))
    if ci:
        notes.append(
            f"{boot.confidence * 100:g}% intervals: percentile bootstrap over all architectures, "
            f"{boot.resamples} resamples, seed {boot.seed}"
        )
    if ties and len(out):
        out = mark_ties(out, frame, protocol, replace(boot, metric=tie_metric))
        notes.append(out.attrs["ties"])
    out.attrs["notes"] = list(dict.fromkeys(notes))
    out.attrs["caption"] = protocol.caption(out.attrs["notes"])
    return out


DEFAULT_RESAMPLES = 1000  # --ci-resamples


def check_resampling(resamples: int, seed: int) -> None:
    """Bootstrap settings any interval or tie test can run with (refused before any work)."""
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise UsageError(f"--ci-resamples must be a positive integer, got {resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"--ci-seed must be a non-negative integer, got {seed!r}")


def _tie_metric(metrics: Sequence[str]) -> str:
    """The correlation the tie test bootstraps: the first of spearman/kendall among the metrics."""
    from .significance import METRICS

    for m in metrics:
        if m in METRICS:
            return m
    raise UsageError(f"--ties compares {' or '.join(METRICS)} correlations: add --metric spearman")


def mark_ties(table: pd.DataFrame, frame: pd.DataFrame, protocol: Protocol, boot: Bootstrap) -> pd.DataFrame:
    """``table`` with a ``tied`` column: per (space, dataset), True for the proxy with the best
    ``metric`` and for every proxy statistically tied with it, False for the others, empty for rows
    that are not a proxy's correlation (vote).

    Tied = the paired percentile bootstrap interval (``boot``: its metric, resamples, seed and level; sign and
    failed-score policy are the protocol's) of ``best − proxy`` contains 0
    (:func:`zcbench.report.significance.tie_table`), under the protocol's target, sign, failed-score policy
    and score transforms, over all architectures with a target accuracy (a sampling protocol's
    samples are not used, as for ``--ci``). The sentence for the caption is ``attrs['ties']``."""
    from .significance import tie_table

    boot = replace(boot, sign=protocol.sign, score_nan=protocol.score_nan)
    proxies = [p for p in dict.fromkeys(table["proxy"]) if p in frame.columns]
    scored = frame.copy()
    for p, t in protocol.transforms.items():
        if p in scored.columns:
            scored[p] = TRANSFORMS[t](scored[p].to_numpy(dtype=np.float64))
    tcol = f"{protocol.target}_accuracy"
    if tcol not in scored.columns:
        scored[tcol] = np.nan
    tied: dict[tuple[str, str, str], bool] = {}
    if proxies:
        ties = tie_table(scored, proxies, tcol, boot)
        tied = {(r.space, r.dataset, r.proxy): bool(r.tied_with_best) for r in ties.itertuples()}
    out = table.copy()
    out["tied"] = [tied.get((s, d, p)) for s, d, p in zip(out["space"], out["dataset"], out["proxy"])]
    out.attrs.update(table.attrs)
    out.attrs["ties"] = (
        f"tied: per (space, dataset) the best proxy by {boot.metric} and each proxy whose paired percentile bootstrap "
        f"interval of best − proxy ({boot.confidence * 100:g}%, {boot.resamples} resamples, seed {boot.seed}, all "
        "architectures "
        f"with a {protocol.target} accuracy) contains 0; no multiple-comparison correction"
    )
    return out
