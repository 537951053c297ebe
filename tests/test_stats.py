"""zcbench.report.stats against hand-computed values: ties, NaNs, constant input, vote, bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zcbench.errors import UsageError
from zcbench.report import stats

X = [1, 2, 3, 4, 5]
Y = [5, 6, 7, 8, 7]  # a tie in the target (7, 7)


def test_spearman_with_ties_by_hand():
    # ranks y = 1, 2, 3.5, 5, 3.5 -> sum dxdy = 8, sum dx^2 = 10, sum dy^2 = 9.5
    assert stats.spearman(X, Y) == pytest.approx(8 / math.sqrt(95))


def test_kendall_tau_b_with_ties_by_hand():
    # 8 concordant, 1 discordant, 1 pair tied in y only: (8-1)/sqrt(10*9)
    assert stats.kendall(X, Y) == pytest.approx(7 / math.sqrt(90))


def test_pearson_by_hand():
    assert stats.pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(5 / math.sqrt(2 * 114 / 9))


def test_nan_policies():
    s = [1.0, np.nan, 3.0, 4.0, 2.0]
    t = [1.0, 2.0, 3.0, 4.0, 5.0]
    # omit: drop the failed arch -> scores (1,3,4,2) vs (1,3,4,5): d = 0,0,0,... by hand
    # ranks s = 1,3,4,2 ; t = 1,2,3,4 -> dx=-1.5,.5,1.5,-.5 ; dy=-1.5,-.5,.5,1.5 -> 2.25-.25+.75-.75=2 ; /5
    assert stats.spearman(s, t, "omit") == pytest.approx(2 / 5)
    # worst: the failed arch is ranked last: s ranks 2,1,4,5,3 vs 1..5
    # dx = -1,-2,1,2,0 ; dy = -2,-1,0,1,2 -> 2+2+0+2+0 = 6 ; /10
    assert stats.spearman(s, t, "worst") == pytest.approx(0.6)
    # a NaN target always drops the row, whatever the score policy
    assert stats.spearman([1, 2, 3, 9], [1, 2, 3, np.nan], "worst") == pytest.approx(1.0)
    with pytest.raises(UsageError):
        stats.spearman(s, t, "drop")


def test_constant_and_tiny_inputs_are_nan_then_zero_fill():
    assert math.isnan(stats.spearman([3, 3, 3], [1, 2, 3]))
    assert math.isnan(stats.kendall([1, 2, 3], [5, 5, 5]))
    assert math.isnan(stats.spearman([1], [2]))
    assert math.isnan(stats.spearman([np.nan, np.nan], [1, 2]))
    assert stats.fill_corr_nan(math.nan, "zero") == 0.0
    assert math.isnan(stats.fill_corr_nan(math.nan, "nan"))
    assert stats.fill_corr_nan(-0.3, "zero") == -0.3


def test_sign_convention():
    assert stats.apply_sign(-0.4, "abs") == 0.4
    assert stats.apply_sign(-0.4, "signed") == -0.4
    with pytest.raises(UsageError):
        stats.apply_sign(0.1, "positive")


def test_top_k_correlations_by_hand():
    acc = np.arange(1, 11, dtype=float)  # 70th percentile = 7.3 -> top 30% = accs 8, 9, 10
    score = np.array([0, 0, 0, 0, 0, 0, 0, 3, 1, 2], dtype=float)
    # within the top: scores (3,1,2) vs (8,9,10): dx=-1,0,1 ; dy=1,-1,0 -> -1/2
    assert stats.top_k_spearman(score, acc, 30) == pytest.approx(-0.5)
    # tau: pairs (8,9) D, (8,10) D, (9,10) C -> -1/3
    assert stats.top_k_kendall(score, acc, 30) == pytest.approx(-1 / 3)


def test_top_k_overlap_by_hand():
    acc = np.arange(1, 11, dtype=float)  # top 30% by acc = indices 7, 8, 9
    score = np.array([10, 0, 0, 0, 0, 0, 0, 9, 8, 0], dtype=float)  # top 30% by score = 0, 7, 8
    assert stats.top_k_overlap(score, acc, 30) == pytest.approx(200 / 3)


def test_top_n_in_top_k_counts_ties_and_needs_more_than_n():
    acc = np.arange(1, 11, dtype=float)  # top 30% = indices 7, 8, 9
    score = np.array([5, 0, 0, 0, 0, 0, 0, 5, 5, 1], dtype=float)
    # the 2 best scores: value 5 is tied three times -> indices 0, 7, 8 -> 2 in the top 30%
    assert stats.top_n_in_top_k(score, acc, n=2, k=30) == 2
    assert math.isnan(stats.top_n_in_top_k(score, acc, n=10, k=30))


def test_vote_hand_made_example():
    acc = [1, 2, 3]
    proxies = [[1, 2, 3], [3, 2, 1], [1, 1, 2]]  # third has a tie between arch 0 and 1
    # ordered pairs: (0,1) right, (1,0) wrong (tie in p3 votes 'j better'), the other 4 right
    assert stats.vote(proxies, acc) == pytest.approx(5 / 6)


def test_vote_skips_equal_accuracy_and_nan():
    assert math.isnan(stats.vote([[1, 2], [2, 1], [1, 2]], [5, 5]))
    # the NaN-scored arch is dropped: 2 archs left, proxies all agree with acc -> 1.0
    assert stats.vote([[1, 2, np.nan], [1, 2, 3], [1, 2, 3]], [1, 2, 3]) == 1.0


def _vote_loop(mats, acc):
    """Literal transcription of the published double loop (Samsung notebook cell 4)."""
    right = tot = 0
    n = len(acc)
    for i in range(n):
        for j in range(n):
            if i == j or acc[i] - acc[j] == 0:
                continue
            numpos = sum(1 if m[i] - m[j] > 0 else 0 for m in mats)
            sign = 1 if numpos >= len(mats) / 2 else -1
            right += 1 if sign * (acc[i] - acc[j]) > 0 else 0
            tot += 1
    return right / tot


def test_vote_matches_reference_loop_on_random_data_with_ties():
    rng = np.random.default_rng(3)
    acc = rng.integers(0, 12, 70).astype(float)  # many accuracy ties
    mats = [rng.integers(0, 6, 70).astype(float) for _ in range(3)]  # many score ties
    assert stats.vote(mats, acc, block=16) == pytest.approx(_vote_loop(mats, acc))


def test_bootstrap_ci():
    x = np.arange(30, dtype=float)
    assert stats.bootstrap_ci(stats.spearman, x, 2 * x, resamples=50) == pytest.approx((1.0, 1.0))
    rng = np.random.default_rng(0)
    s = rng.normal(size=200)
    t = s + rng.normal(size=200)
    lo, hi = stats.bootstrap_ci(stats.spearman, s, t, resamples=200, seed=1)
    point = stats.spearman(s, t)
    assert lo < point < hi and hi - lo < 0.3
    assert (lo, hi) == stats.bootstrap_ci(stats.spearman, s, t, resamples=200, seed=1)


def test_naslib_log_transform():
    out = stats.naslib_log([math.e, -math.e, 0.0, np.nan])
    assert out[0] == pytest.approx(1.0) and out[1] == pytest.approx(-1.0)
    assert np.isnan(out[2]) and np.isnan(out[3])


def test_sample_indices_seeded_and_all_when_short():
    a = stats.sample_indices(100, 10, 9000)
    assert len(set(a)) == 10 and np.array_equal(a, stats.sample_indices(100, 10, 9000))
    assert not np.array_equal(a, stats.sample_indices(100, 10, 9001))
    assert np.array_equal(stats.sample_indices(5, 10, 1), np.arange(5))
