"""Is the difference real? Paired bootstrap of the difference between two proxies' rank correlations.

Two proxies scored on the same architectures are compared by resampling *architectures* with
replacement and recomputing both correlations on the *same* resample (Efron & Tibshirani 1993,
"An Introduction to the Bootstrap", ch. 13 for the percentile interval). Because the two
correlations share their architectures, they are correlated, and their difference varies far
less than two separate intervals suggest: overlapping per-proxy intervals do not mean a tie.

Conventions (all stated in the verdict and in ``docs/compare.md``):

* Point estimates are ``zcbench.report.stats.spearman`` / ``kendall`` on the kept architectures, i.e.
  the numbers ``zcbench correlate`` prints when no score is missing.
* Replicate ``b`` draws ``numpy.random.default_rng(seed).integers(0, n, n)`` in turn, the same
  stream as :func:`zcbench.report.stats.bootstrap_ci`, so ρ_A's own replicates equal ``correlate --ci``'s.
* The interval is the percentile interval of the replicate differences (numpy's linear
  interpolation); replicates where a correlation is undefined (a constant resample) are dropped.
* ``p_value`` inverts the percentile interval: ``min(1, 2·min(1 + #{d* ≤ 0}, 1 + #{d* ≥ 0}) / (B + 1))``,
  the smallest two-sided level whose percentile interval excludes 0, with the usual +1 Monte Carlo
  correction (Davison & Hinkley 1997), so it is never below ``2 / (B + 1)``.

Pure numpy/scipy: no files, no CLI. pandas is imported only by :func:`tie_table`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from ..errors import UsageError
from ..progress import bar
from . import stats

METRICS = ("spearman", "kendall")
SYMBOLS = {"spearman": "ρ", "kendall": "τ"}
# Resampled rows are processed in blocks of about this many elements (16 MiB per float64 array).
_BLOCK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class PairedComparison:
    """The paired bootstrap of ``rho_a − rho_b`` (or ``|rho_a| − |rho_b|`` with ``sign='abs'``)."""

    n: int  # architectures entering both correlations
    rho_a: float
    rho_b: float
    diff: float  # rho_a − rho_b after the sign convention
    lo: float
    hi: float
    p_value: float  # two-sided, by inverting the percentile interval (module docstring)
    resamples: int
    seed: int
    metric: str
    verdict: str
    name_a: str = "A"
    name_b: str = "B"
    sign: str = "signed"
    score_nan: str = "omit"
    confidence: float = 0.95
    valid: int = 0  # resamples where both correlations were defined
    better: str | None = None  # name_a, name_b, or None when the interval contains 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TieRow:
    """One proxy of a task against the best one: ``diff_to_best = best − proxy`` with its interval."""

    proxy: str
    n: int
    rho: float
    diff_to_best: float
    lo: float
    hi: float
    p_value: float
    tied: bool


@dataclass(frozen=True)
class TieResult:
    """Which proxies of one task cannot be told apart from the best by the paired bootstrap."""

    best: str | None
    rows: list[TieRow] = field(default_factory=list)


# -- settings ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bootstrap:
    """Every setting that changes a paired-bootstrap interval, in one checked object (as ``RunSettings``
    is for a score run): the correlation, its sign convention, the failed-score policy, the number of
    resamples, their seed and the interval's level."""

    metric: str = "spearman"
    sign: str = "signed"
    score_nan: str = "omit"
    resamples: int = 2000
    seed: int = 0
    confidence: float = 0.95

    @classmethod
    def of(cls, base: Bootstrap | None = None, **settings: Any) -> Bootstrap:
        """``base`` (default: the defaults) with ``settings`` (field names) replaced, checked: the
        keyword form every function of this module and the API accept."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise UsageError(f"unknown bootstrap setting {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return replace(base or cls(), **settings).validated()

    def validated(self) -> Bootstrap:
        """Raise :class:`UsageError` for a setting no bootstrap can run with (call before any work)."""
        if self.metric not in METRICS:
            raise UsageError(
                f"unknown metric {self.metric!r} for a paired bootstrap (choose from {', '.join(METRICS)})"
            )
        if self.sign not in stats.SIGNS:
            raise UsageError(f"unknown sign convention {self.sign!r} (choose from {', '.join(stats.SIGNS)})")
        if self.score_nan not in stats.SCORE_NAN_POLICIES:
            raise UsageError(
                f"unknown score NaN policy {self.score_nan!r} (choose from {', '.join(stats.SCORE_NAN_POLICIES)})"
            )
        r = self.resamples
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
            raise UsageError(f"the number of resamples must be a positive integer, got {r!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise UsageError(f"the bootstrap seed must be a non-negative integer, got {self.seed!r}")
        c = self.confidence
        if isinstance(c, bool) or not (isinstance(c, (int, float, np.floating)) and 0 < float(c) < 1):
            raise UsageError(f"confidence must lie strictly between 0 and 1, got {c!r}")
        return self

    def caption(self, target_col: str) -> str:
        """One sentence naming everything that changes the intervals."""
        sym = SYMBOLS.get(self.metric, self.metric)
        what = f"|{sym}|" if self.sign == "abs" else f"signed {sym}"
        nan = "architectures with a failed score dropped" if self.score_nan == "omit" else "failed scores ranked last"
        return (
            f"{self.metric} ({what}) against {target_col}; {nan}; paired percentile bootstrap over architectures "
            f"(Efron & Tibshirani 1993), {self.resamples} resamples, seed {self.seed}, "
            f"{self.confidence * 100:g}% intervals."
        )

    def columns(self) -> dict[str, Any]:
        """The conventions as table columns (CSV/JSON carry them)."""
        return asdict(self)


# -- input -------------------------------------------------------------------------------------


def clean_columns(columns: Sequence[Any], target: Any, score_nan: str = "omit") -> tuple[list[np.ndarray], np.ndarray]:
    """Score columns and target on the architectures every correlation uses: a target is always
    needed; ``omit`` also needs every score finite (a pair must sit on the same architectures),
    ``worst`` sets failed scores to ``stats.WORST_SCORE`` as :func:`zcbench.report.stats.clean_pair`."""
    t = np.asarray(target, dtype=np.float64).ravel()
    cols = [np.asarray(c, dtype=np.float64).ravel() for c in columns]
    for c in cols:
        if c.shape != t.shape:
            raise UsageError(f"score and target lengths differ ({c.size} vs {t.size})")
    keep = np.isfinite(t)
    if score_nan == "omit":
        for c in cols:
            keep &= np.isfinite(c)
    else:
        cols = [np.where(np.isfinite(c), c, stats.WORST_SCORE) for c in cols]
    return [c[keep] for c in cols], t[keep]


# -- replicates --------------------------------------------------------------------------------
def resample_blocks(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap index rows ``(block, n)``; row ``b`` is the ``b``-th ``rng.integers(0, n, n)`` of
    ``default_rng(seed)``, so the replicates do not depend on the block size."""
    rng = np.random.default_rng(seed)
    per = max(1, _BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, resamples, per):
        rows = min(per, resamples - start)
        yield np.stack([rng.integers(0, n, n) for _ in range(rows)])


def _average_ranks(codes: np.ndarray, levels: int, idx: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(values[idx], axis=1)`` (average ranks of ties, recomputed in every
    resample) by counting instead of sorting: ``codes`` are the dense ranks of the values, so a
    value's average rank in a resample is (#smaller drawn) + (#equal drawn + 1) / 2. Exact, and
    O(n) per row instead of O(n log n); the tests check it equals rankdata."""
    rows = idx.shape[0]
    g = codes[idx]
    counts = np.bincount((g + np.arange(rows)[:, None] * levels).ravel(), minlength=rows * levels)
    counts = counts.reshape(rows, levels)
    below = np.cumsum(counts, axis=1) - counts
    return np.take_along_axis(below + (counts + 1) / 2.0, g, axis=1)


def _dense(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense rank codes (0 = smallest) and the number of distinct values."""
    uniq, codes = np.unique(values, return_inverse=True)
    return codes.ravel(), int(uniq.size)


def _spearman_rows(codes: list[tuple[np.ndarray, int]], tcodes: tuple[np.ndarray, int], idx: np.ndarray) -> np.ndarray:
    """Spearman ρ of every column with the target on each resample row: ``(rows, columns)``."""
    n = idx.shape[1]
    mid = (n + 1) / 2.0  # the mean of average ranks, whatever the ties
    rt = _average_ranks(*tcodes, idx) - mid
    st = np.einsum("ij,ij->i", rt, rt)
    out = np.empty((idx.shape[0], len(codes)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, (c, levels) in enumerate(codes):
            rc = _average_ranks(c, levels, idx) - mid
            num = np.einsum("ij,ij->i", rc, rt)
            den = np.sqrt(np.einsum("ij,ij->i", rc, rc) * st)
            out[:, j] = np.where(den > 0, np.clip(num / den, -1.0, 1.0), np.nan)
    return out


def replicate_correlations(
    columns: Sequence[np.ndarray], target: np.ndarray, metric: str = "spearman", resamples: int = 2000, seed: int = 0
) -> np.ndarray:
    """``(resamples, len(columns))``: every column's correlation with ``target`` on the same
    resampled architectures (inputs already cleaned, see :func:`clean_columns`); NaN where undefined."""
    n = target.size
    out = np.full((resamples, len(columns)), np.nan)
    if n < 2 or not columns:
        return out
    desc = f"paired bootstrap ({metric}, n={n})"
    with bar(total=resamples, desc=desc, unit="resample") as progress:
        done = 0
        if metric == "spearman":
            codes = [_dense(c) for c in columns]
            tcodes = _dense(target)
            for idx in resample_blocks(n, resamples, seed):
                out[done : done + len(idx)] = _spearman_rows(codes, tcodes, idx)
                done += len(idx)
                progress.update(len(idx))
        else:  # kendall: O(n log n) per call in scipy, looped
            for idx in resample_blocks(n, resamples, seed):
                for row in idx:
                    t = target[row]
                    out[done] = [stats.kendall(c[row], t) for c in columns]
                    done += 1
                    progress.update(1)
    return out


def _point(metric: str, score: np.ndarray, target: np.ndarray) -> float:
    """The correlation ``zcbench correlate`` reports (inputs already cleaned)."""
    return stats.spearman(score, target) if metric == "spearman" else stats.kendall(score, target)


def _interval(diffs: np.ndarray, confidence: float) -> tuple[float, float, float, int]:
    """Percentile interval, interval-inversion p-value and the number of defined replicates."""
    d = diffs[np.isfinite(diffs)]
    if d.size == 0:
        return math.nan, math.nan, math.nan, 0
    alpha = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(d, [alpha, 100 - alpha])
    tail = min(int(np.sum(d <= 0)), int(np.sum(d >= 0)))
    p = min(1.0, 2.0 * (tail + 1) / (d.size + 1))
    return float(lo), float(hi), p, int(d.size)


# -- verdicts ----------------------------------------------------------------------------------
def _num(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.3f}"


def _label(metric: str, sign: str, name: str) -> str:
    sym = SYMBOLS[metric]
    return f"|{sym}|({name})" if sign == "abs" else f"{sym}({name})"


def verdict(c: PairedComparison) -> str:
    """The plain-language reading of a comparison, with every number that supports it."""
    level = f"{c.confidence * 100:g}%"
    diff = f"{_label(c.metric, c.sign, c.name_a)} − {_label(c.metric, c.sign, c.name_b)}"
    how = f"n = {c.n}, {c.resamples} paired bootstrap resamples, seed {c.seed}"
    if c.valid < c.resamples and np.isfinite(c.lo):
        how += f", {c.resamples - c.valid} undefined resamples dropped"
    if not (np.isfinite(c.rho_a) and np.isfinite(c.rho_b)):
        which = [nm for nm, r in ((c.name_a, c.rho_a), (c.name_b, c.rho_b)) if not np.isfinite(r)]
        return (
            f"cannot compare: {SYMBOLS[c.metric]} undefined for {' and '.join(which)} "
            f"(constant scores or fewer than 2 architectures; n = {c.n})"
        )
    if not np.isfinite(c.lo):
        return f"cannot compare: no resample defines both correlations ({how})"
    body = f"{diff} = {_num(c.diff)}, {level} CI [{_num(c.lo)}, {_num(c.hi)}]"
    if c.better is None:
        return f"no significant difference: {body} contains 0 (p = {c.p_value:.3g}; {how})"
    worse = c.name_b if c.better == c.name_a else c.name_a
    return f"{c.better} is better than {worse}: {body} excludes 0 (p = {c.p_value:.3g}; {how})"


def _compare(
    cleaned: tuple[np.ndarray, np.ndarray, np.ndarray],
    reps: tuple[np.ndarray, np.ndarray] | None,
    boot: Bootstrap,
    names: tuple[str, str],
) -> PairedComparison:
    """A :class:`PairedComparison` from cleaned ``(a, b, target)`` and their replicates (None: not computed)."""
    a, b, t = cleaned
    rho_a = stats.apply_sign(_point(boot.metric, a, t), boot.sign)
    rho_b = stats.apply_sign(_point(boot.metric, b, t), boot.sign)
    diff = rho_a - rho_b
    lo = hi = p = math.nan
    valid = 0
    if reps is not None and np.isfinite(diff):
        ra, rb = reps
        if boot.sign == "abs":
            ra, rb = np.abs(ra), np.abs(rb)
        lo, hi, p, valid = _interval(ra - rb, boot.confidence)
    better = None
    if np.isfinite(lo) and lo > 0:
        better = names[0]
    elif np.isfinite(hi) and hi < 0:
        better = names[1]
    c = PairedComparison(
        n=int(t.size),
        rho_a=rho_a,
        rho_b=rho_b,
        diff=diff,
        lo=lo,
        hi=hi,
        p_value=p,
        resamples=int(boot.resamples),
        seed=int(boot.seed),
        metric=boot.metric,
        verdict="",
        name_a=names[0],
        name_b=names[1],
        sign=boot.sign,
        score_nan=boot.score_nan,
        confidence=float(boot.confidence),
        valid=valid,
        better=better,
    )
    return PairedComparison(**(asdict(c) | {"verdict": verdict(c)}))


def paired_bootstrap(
    score_a: Any,
    score_b: Any,
    target: Any,
    boot: Bootstrap | None = None,
    names: tuple[str, str] = ("A", "B"),
    **settings: Any,
) -> PairedComparison:
    """Paired bootstrap of ``corr(A, target) − corr(B, target)``: every replicate resamples the
    architectures once and recomputes both correlations on that same resample.

    ``score_nan='omit'`` keeps the architectures where A, B and the target are all finite;
    ``worst`` ranks failed scores last. ``sign='abs'`` compares ``|ρ_A| − |ρ_B|``. The verdict
    names the better proxy only when the ``confidence`` percentile interval excludes 0. The settings come
    from ``boot`` and/or keywords naming :class:`Bootstrap` fields (``resamples=500``).
    """
    boot = Bootstrap.of(boot, **settings)
    (a, b), t = clean_columns([score_a, score_b], target, boot.score_nan)
    defined = not (math.isnan(_point(boot.metric, a, t)) or math.isnan(_point(boot.metric, b, t)))
    reps = None
    if defined:
        rep = replicate_correlations([a, b], t, boot.metric, boot.resamples, boot.seed)
        reps = (rep[:, 0], rep[:, 1])
    return _compare((a, b, t), reps, boot, names)


def tied_with_best(scores: Mapping[str, Any], target: Any, boot: Bootstrap | None = None, **settings: Any) -> TieResult:
    """For one task: the best proxy by point estimate, and for every other proxy the paired
    interval of ``best − other``; ``tied`` when it contains 0 (no correction for the number of
    comparisons: a tie means "not shown worse", which is the cautious reading).

    Each ``rho`` is the proxy's own correlation (``correlate``'s number); each pair is bootstrapped
    on the architectures both proxies have (``omit``). Pairs that share those architectures share
    one pass over the resamples, and every pair equals :func:`paired_bootstrap` on it.
    """
    boot = Bootstrap.of(boot, **settings)
    metric, sign, score_nan = boot.metric, boot.sign, boot.score_nan
    names = list(scores)
    t_all = np.asarray(target, dtype=np.float64).ravel()
    cols = {p: np.asarray(scores[p], dtype=np.float64).ravel() for p in names}
    rho: dict[str, float] = {}
    size: dict[str, int] = {}
    for p in names:
        (s,), t = clean_columns([cols[p]], t_all, score_nan)
        rho[p] = stats.apply_sign(_point(metric, s, t), sign)
        size[p] = int(t.size)
    ranked = [p for p in names if np.isfinite(rho[p])]
    if not ranked:
        rows = [TieRow(p, size[p], rho[p], math.nan, math.nan, math.nan, math.nan, False) for p in names]
        return TieResult(None, rows)
    best = max(ranked, key=lambda p: rho[p])  # the first of equals, in the given order
    groups: dict[bytes, list[str]] = {}
    for p in ranked:
        if p == best:
            continue
        keep = np.isfinite(t_all)
        if score_nan == "omit":
            keep &= np.isfinite(cols[best]) & np.isfinite(cols[p])
        groups.setdefault(np.packbits(keep).tobytes() + keep.size.to_bytes(8, "little"), []).append(p)
    result: dict[str, PairedComparison] = {}
    for members in groups.values():
        cleaned, t = clean_columns([cols[best]] + [cols[p] for p in members], t_all, score_nan)
        reps = replicate_correlations(cleaned, t, metric, boot.resamples, boot.seed)
        for j, p in enumerate(members, start=1):
            result[p] = _compare((cleaned[0], cleaned[j], t), (reps[:, 0], reps[:, j]), boot, (best, p))
    rows = []
    for p in names:
        if p == best:
            rows.append(TieRow(p, size[p], rho[p], 0.0, 0.0, 0.0, 1.0, True))
        elif p in result:
            c = result[p]
            tied = bool(np.isfinite(c.lo) and c.lo <= 0 <= c.hi)
            rows.append(TieRow(p, c.n, rho[p], c.diff, c.lo, c.hi, c.p_value, tied))
        else:
            rows.append(TieRow(p, size[p], rho[p], math.nan, math.nan, math.nan, math.nan, False))
    return TieResult(best, rows)


def tie_table(
    frame: Any,
    proxies: Sequence[str] | None = None,
    target_col: str = "val_accuracy",
    boot: Bootstrap | None = None,
    **settings: Any,
) -> Any:
    """:func:`tied_with_best` per (space, dataset) of a ``zcbench.store.load_frame`` frame.

    One row per (space, dataset, proxy) with ``n, rho, best, diff_to_best, lo, hi, p_value,
    tied_with_best`` (True for the best itself), the best first, then by ``rho``. A proxy without a
    finite score in a task is not part of that task. ``df.attrs['caption']`` states the method.
    """
    import pandas as pd

    from ..store.columns import proxy_columns, target_column

    boot = Bootstrap.of(boot, **settings)
    for col in ("space", "dataset", target_col):
        if col not in frame.columns:
            raise UsageError(f"results frame lacks column {col!r}")
    have = proxy_columns(frame)
    wanted = list(proxies) if proxies else have
    unknown = [p for p in wanted if p not in have]
    if unknown:
        raise UsageError(f"unknown proxy {', '.join(unknown)} (have: {', '.join(have) or 'none'})")
    rows = []
    split = False
    for (space, dataset), block in frame.groupby(["space", "dataset"], sort=True):
        # proxies scored against different accuracies (another dump, schedule or file) are ranked apart
        groups: dict[str, dict[str, np.ndarray]] = {}
        for p in wanted:
            if np.isfinite(block[p]).any():
                tcol = target_column(block, p, target_col)
                groups.setdefault(tcol, {})[p] = block[p].to_numpy(dtype=np.float64)
        split |= len(groups) > 1
        for tcol, present in groups.items():
            target = block[tcol].to_numpy(dtype=np.float64) if tcol in block else np.full(len(block), np.nan)
            rows += _tie_rows(space, dataset, tied_with_best(present, target, boot), boot)
    columns = ["space", "dataset", "proxy", "metric", "sign", "n", "rho", "best", "diff_to_best", "lo", "hi"]
    out = pd.DataFrame(rows, columns=columns + ["p_value", "tied_with_best"])
    out.attrs["caption"] = boot.caption(target_col) + (
        " diff_to_best = best − proxy on the architectures both have; tied_with_best: its interval contains 0"
        " (no multiple-comparison correction)."
    )
    if split:
        out.attrs["caption"] += " Proxies scored against other accuracies than the table's are ranked among themselves."
    return out


def _tie_rows(space: str, dataset: str, res: TieResult, boot: Bootstrap) -> list[dict[str, Any]]:
    """The rows of one task's :class:`TieResult`: the best first, then by ``rho``."""
    rows = []
    for r in sorted(res.rows, key=lambda r: (r.proxy != res.best, -r.rho if np.isfinite(r.rho) else math.inf)):
        rows.append(
            {
                "space": space,
                "dataset": dataset,
                "proxy": r.proxy,
                "metric": boot.metric,
                "sign": boot.sign,
                "n": r.n,
                "rho": r.rho,
                "best": res.best or "",
                "diff_to_best": r.diff_to_best,
                "lo": r.lo,
                "hi": r.hi,
                "p_value": r.p_value,
                "tied_with_best": r.tied,
            }
        )
    return rows


COMPARE_COLUMNS = (
    "space",
    "dataset",
    "n",
    "proxy_a",
    "proxy_b",
    "rho_a",
    "rho_b",
    "diff",
    "lo",
    "hi",
    "p_value",
    "better",
)


def compare_table(
    frame, a: str, b: str, target_col: str = "val_accuracy", boot: Bootstrap | None = None, **settings: Any
):
    """:func:`paired_bootstrap` of proxies ``a`` and ``b`` in every (space, dataset) of the wide results frame
    that holds both and the target: one row each, with the verdict and the conventions as columns."""
    import pandas as pd

    from ..store.columns import target_column

    boot = Bootstrap.of(boot, **settings)

    def holds(block, col: str) -> bool:
        return col in block and bool(np.isfinite(block[col].to_numpy(dtype=np.float64)).any())

    rows = []
    for (space, dataset), block in frame.groupby(["space", "dataset"], sort=True):
        ta, tb = target_column(block, a, target_col), target_column(block, b, target_col)
        if not (holds(block, a) and holds(block, b) and holds(block, ta) and holds(block, tb)):
            continue
        if ta != tb:
            raise UsageError(
                f"{space}/{dataset}: {a} and {b} were scored against different accuracies (another dump, schedule "
                "or file); a paired comparison needs both against the same ones"
            )
        c = paired_bootstrap(block[a], block[b], block[ta], boot, names=(a, b))
        row = {"space": space, "dataset": dataset, "n": c.n, "proxy_a": c.name_a, "proxy_b": c.name_b}
        row |= {k: getattr(c, k) for k in ("rho_a", "rho_b", "diff", "lo", "hi", "p_value")}
        row |= {"better": c.better, "verdict": c.verdict, "metric": boot.metric, "sign": boot.sign}
        row |= {"score_nan": boot.score_nan, "target": target_col.removesuffix("_accuracy")}
        row |= {"confidence": boot.confidence, "resamples": boot.resamples, "seed": boot.seed}
        rows.append(row)
    columns = [*COMPARE_COLUMNS, "verdict", "metric", "sign", "score_nan", "target", "confidence", "resamples", "seed"]
    return pd.DataFrame(rows, columns=columns)
