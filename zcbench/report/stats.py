"""Rank statistics between proxy scores and trained accuracies, with explicit NaN policies.

Pure functions on 1-D numpy arrays, so that every number in a report can be recomputed by hand.
The definitions follow the published code they are compared against:

* Spearman / Kendall (tau-b) / Pearson as in ``scipy.stats``; Abdelfattah et al. call
  ``spearmanr(..., nan_policy='omit')`` and take ``abs`` (the sign convention is the caller's job).
* top-k% (ρ, τ on the architectures whose accuracy is strictly above the (100−k)th percentile),
  top-k%/top-k% overlap and "top-64 in top-5%" as in ``egracheva/epsinas`` ``compute_stats``.
* ``vote`` as in ``SamsungLabs/zero-cost-nas`` ``notebooks/nasbench201_correlations.ipynb``: the
  fraction of ordered pairs with different accuracy whose order a majority of proxies gets right.

Score NaN policies (``score_nan``): ``omit`` drops the architecture (Samsung, epsinas);
``worst`` replaces it by ``WORST_SCORE`` = −1e8 (NASLib sets non-finite scores to −1e8).
An architecture whose *target* is NaN is always dropped: it has no trained result to rank.
Correlation NaN policy (``corr_nan``): ``nan`` keeps an undefined correlation (constant input,
fewer than 2 points) as NaN; ``zero`` counts it as 0, as NAS-Bench-Suite-Zero's plots do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import UsageError
from ..progress import bar

WORST_SCORE = -1e8
SCORE_NAN_POLICIES = ("omit", "worst")
CORR_NAN_POLICIES = ("nan", "zero")
SIGNS = ("signed", "abs")


def clean_pair(
    score: Sequence[float], target: Sequence[float], score_nan: str = "omit"
) -> tuple[np.ndarray, np.ndarray]:
    """``(score, target)`` as float arrays after the NaN policy; rows without a target are dropped."""
    s = np.asarray(score, dtype=np.float64).ravel()
    t = np.asarray(target, dtype=np.float64).ravel()
    if s.shape != t.shape:
        raise UsageError(f"score and target lengths differ ({s.size} vs {t.size})")
    if score_nan not in SCORE_NAN_POLICIES:
        raise UsageError(f"unknown score NaN policy {score_nan!r} (choose from {', '.join(SCORE_NAN_POLICIES)})")
    keep = np.isfinite(t)
    if score_nan == "omit":
        keep &= np.isfinite(s)
    else:
        s = np.where(np.isfinite(s), s, WORST_SCORE)
    return s[keep], t[keep]


def _undefined(x: np.ndarray, y: np.ndarray) -> bool:
    """A correlation is undefined with fewer than 2 points or a constant input."""
    return x.size < 2 or np.all(x == x[0]) or np.all(y == y[0])


def _scipy_stats():
    """scipy.stats, imported on the first correlation: a command that only lists or checks need not pay
    scipy's import time (~2 s on 2 cores)."""
    from scipy import stats

    return stats


def _corr(fn: Callable, x, y, score_nan: str) -> float:
    s, t = clean_pair(x, y, score_nan)
    if _undefined(s, t):
        return math.nan
    return float(fn(s, t))


def spearman(score, target, score_nan: str = "omit") -> float:
    """Spearman ρ (average ranks for ties); NaN when undefined."""
    return _corr(lambda a, b: _scipy_stats().spearmanr(a, b).statistic, score, target, score_nan)


def kendall(score, target, score_nan: str = "omit") -> float:
    """Kendall τ-b (scipy's default, what epsinas used); NaN when undefined."""
    return _corr(lambda a, b: _scipy_stats().kendalltau(a, b).statistic, score, target, score_nan)


def pearson(score, target, score_nan: str = "omit") -> float:
    """Pearson r of the raw values; NaN when undefined."""
    return _corr(lambda a, b: _scipy_stats().pearsonr(a, b).statistic, score, target, score_nan)


def top_mask(values: np.ndarray, k: float) -> np.ndarray:
    """Entries strictly above the (100−k)th percentile (numpy linear interpolation), as epsinas."""
    if not 0 < k <= 100:
        raise UsageError(f"top-k percentage must be in (0, 100], got {k}")
    return values > np.percentile(values, 100 - k)


def _on_top_k(corr, score, target, k: float, score_nan: str) -> float:
    s, t = clean_pair(score, target, score_nan)
    if s.size == 0:
        return math.nan
    m = top_mask(t, k)
    return corr(s[m], t[m])


def top_k_spearman(score, target, k: float = 10, score_nan: str = "omit") -> float:
    """ρ restricted to the architectures in the top k% by accuracy."""
    return _on_top_k(spearman, score, target, k, score_nan)


def top_k_kendall(score, target, k: float = 10, score_nan: str = "omit") -> float:
    """τ restricted to the architectures in the top k% by accuracy."""
    return _on_top_k(kendall, score, target, k, score_nan)


def top_k_overlap(score, target, k: float = 10, score_nan: str = "omit") -> float:
    """Percentage of the top-k% by score that are also in the top-k% by accuracy (epsinas'
    "Top-10%/top-10%": |both| / |top by score| × 100)."""
    s, t = clean_pair(score, target, score_nan)
    if s.size == 0:
        return math.nan
    by_score = top_mask(s, k)
    if not by_score.any():
        return math.nan
    return float(np.sum(by_score & top_mask(t, k)) / np.sum(by_score) * 100.0)


def top_n_in_top_k(score, target, n: int = 64, k: float = 5, score_nan: str = "omit") -> float:
    """How many of the ``n`` highest-scored architectures (ties at the n-th score included) lie
    in the top k% by accuracy; NaN when there are not more than ``n`` architectures (epsinas)."""
    s, t = clean_pair(score, target, score_nan)
    if s.size <= n:
        return math.nan
    best = s >= np.sort(s)[-n]
    return float(np.sum(best & top_mask(t, k)))


def vote(scores: Sequence[Sequence[float]], target, score_nan: str = "omit", block: int = 512) -> float:
    """Abdelfattah et al.'s pairwise majority-vote agreement (in [0, 1]).

    For every ordered pair (i, j), i ≠ j, with ``target[i] != target[j]``: each proxy votes
    "i better" when ``score[i] − score[j] > 0`` (a tie votes "j better"); the pair is right when at
    least half of the proxies vote "i better" and ``target[i] > target[j]``, or fewer do and
    ``target[i] < target[j]``. Rows with a NaN in any proxy (``omit``) or in the target are dropped.
    """
    mat = np.asarray(scores, dtype=np.float64)
    if mat.ndim != 2 or mat.shape[0] == 0:
        raise UsageError("vote needs a (proxies × architectures) score matrix")
    t = np.asarray(target, dtype=np.float64).ravel()
    if mat.shape[1] != t.size:
        raise UsageError(f"vote: {mat.shape[1]} scores but {t.size} targets")
    keep = np.isfinite(t)
    if score_nan == "omit":
        keep &= np.all(np.isfinite(mat), axis=0)
    else:
        mat = np.where(np.isfinite(mat), mat, WORST_SCORE)
    mat, t = mat[:, keep], t[keep]
    half = mat.shape[0] / 2
    right = total = 0
    for lo in range(0, t.size, block):
        hi = min(lo + block, t.size)
        diff = t[lo:hi, None] - t[None, :]
        numpos = np.zeros(diff.shape, dtype=np.int16)
        for row in mat:
            numpos += (row[lo:hi, None] - row[None, :]) > 0
        up = numpos >= half
        right += int(np.sum((up & (diff > 0)) | (~up & (diff < 0))))
        total += int(np.sum(diff != 0))
    return right / total if total else math.nan


def apply_sign(value: float, sign: str) -> float:
    """``signed`` keeps ρ as computed; ``abs`` discards the sign (Abdelfattah et al.'s tables)."""
    if sign not in SIGNS:
        raise UsageError(f"unknown sign convention {sign!r} (choose from {', '.join(SIGNS)})")
    return abs(value) if sign == "abs" else value


def fill_corr_nan(value: float, corr_nan: str) -> float:
    """``zero``: an undefined correlation counts as 0 (NASLib's plots); ``nan`` keeps it."""
    if corr_nan not in CORR_NAN_POLICIES:
        raise UsageError(f"unknown correlation NaN policy {corr_nan!r} (choose from {', '.join(CORR_NAN_POLICIES)})")
    return 0.0 if corr_nan == "zero" and math.isnan(value) else value


def naslib_log(values) -> np.ndarray:
    """NASLib's synflow transform: ``log(s)`` for s > 0, ``−log(−s)`` otherwise (0 → +inf → NaN)."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), -np.log(-v))
    out[~np.isfinite(out)] = np.nan
    return out


def bootstrap_ci(
    fn: Callable[[np.ndarray, np.ndarray], float],
    score,
    target,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``fn(score, target)`` over architectures (resampled with
    replacement, fixed ``seed``); NaN resamples are ignored; ``(nan, nan)`` when none is defined."""
    s = np.asarray(score, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if s.size < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    vals = np.empty(resamples)
    with bar(total=resamples, desc=f"bootstrap (n={s.size})", unit="resample") as progress:
        for b in range(resamples):
            idx = rng.integers(0, s.size, s.size)
            vals[b] = fn(s[idx], t[idx])
            progress.update(1)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return (math.nan, math.nan)
    alpha = (1 - level) / 2 * 100
    lo, hi = np.percentile(vals, [alpha, 100 - alpha])
    return (float(lo), float(hi))


def sample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct row indices out of ``n`` (all of them when ``n <= size``), seeded."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
