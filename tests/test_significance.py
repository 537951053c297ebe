"""The paired bootstrap of ρ_A − ρ_B on data where the answer is known, the tie table, ``zcbench
compare`` and every command of docs/compare.md (run here, output compared with the doc)."""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from doc_blocks import console_commands
from scipy.stats import rankdata

from zcbench.cli import main
from zcbench.errors import UsageError
from zcbench.report import significance as sig
from zcbench.report import stats
from zcbench.store import ResultStore, Row, RunInfo, RunKey

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "compare.md"


def noisy(acc: np.ndarray, sd: float, seed: int) -> np.ndarray:
    return acc + sd * np.random.default_rng(seed).normal(size=acc.size)


@pytest.fixture(scope="module")
def acc() -> np.ndarray:
    return np.random.default_rng(0).normal(size=400)


# -- known answers -----------------------------------------------------------------------------
def test_identical_proxies_no_difference(acc):
    a = noisy(acc, 1.0, 1)
    c = sig.paired_bootstrap(a, a.copy(), acc, resamples=300, names=("x", "y"))
    assert c.diff == 0.0 and c.lo == 0.0 and c.hi == 0.0  # paired: every replicate difference is exactly 0
    assert c.lo <= 0 <= c.hi and c.p_value == 1.0 and c.better is None
    assert c.verdict.startswith("no significant difference: ρ(x) − ρ(y) = 0.000, 95% CI [0.000, 0.000] contains 0")
    assert "n = 400, 300 paired bootstrap resamples, seed 0" in c.verdict


def test_accuracy_itself_is_clearly_better(acc):
    for metric in ("spearman", "kendall"):
        c = sig.paired_bootstrap(acc, noisy(acc, 1.0, 2), acc, metric=metric, resamples=200, names=("oracle", "noisy"))
        assert c.rho_a == pytest.approx(1.0) and c.lo > 0.1, c
        assert c.better == "oracle" and c.verdict.startswith("oracle is better than noisy:")
        assert "excludes 0" in c.verdict and c.p_value == pytest.approx(2 / 201)
    flipped = sig.paired_bootstrap(noisy(acc, 1.0, 2), acc, acc, resamples=200, names=("noisy", "oracle"))
    assert flipped.hi < 0 and flipped.better == "oracle" and flipped.verdict.startswith("oracle is better than noisy")


def test_known_difference_is_recovered():
    """Bivariate normal (x, y) has Spearman ρ_s = 6/π·asin(r/2): with r = 0.8 and r = 0.6 the true
    difference is 0.1948; 3000 architectures pin the paired interval around it."""
    rng = np.random.default_rng(5)
    n = 3000
    t = rng.normal(size=n)
    a = 0.8 * t + 0.6 * rng.normal(size=n)
    b = 0.6 * t + 0.8 * rng.normal(size=n)
    truth = 6 / math.pi * (math.asin(0.4) - math.asin(0.3))
    c = sig.paired_bootstrap(a, b, t, resamples=400)
    assert c.diff == pytest.approx(stats.spearman(a, t) - stats.spearman(b, t), abs=1e-15)
    assert c.lo < truth < c.hi and c.hi - c.lo < 0.06
    assert c.lo < c.diff < c.hi


def test_paired_is_narrower_than_two_separate_intervals():
    """What pairing buys: two proxies that share most of their error are told apart although
    their separate intervals (``correlate --ci``) overlap."""
    rng = np.random.default_rng(12)
    t = rng.normal(size=300)
    shared = rng.normal(size=300)
    a = t + shared
    b = t + shared + 0.6 * rng.normal(size=300)
    c = sig.paired_bootstrap(a, b, t, resamples=500)
    lo_a, hi_a = stats.bootstrap_ci(stats.spearman, a, t, 500)
    lo_b, hi_b = stats.bootstrap_ci(stats.spearman, b, t, 500)
    assert lo_a < hi_b and lo_b < hi_a  # separate intervals overlap
    assert c.lo > 0 and c.better == "A"


def test_replicates_equal_the_definition_and_correlate_ci(acc):
    """Vectorised Spearman replicates equal scipy on each resample (ties included), and the
    replicate stream is bootstrap_ci's: A's own percentile interval is ``correlate --ci``'s."""
    a = np.round(noisy(acc, 1.0, 3), 1)  # many ties, more created by resampling
    t = np.round(acc, 1)
    reps = sig.replicate_correlations([a], t, "spearman", 60, seed=4)[:, 0]
    rng = np.random.default_rng(4)
    loop = []
    for _ in range(60):
        i = rng.integers(0, t.size, t.size)
        loop.append(stats.spearman(a[i], t[i]))
    np.testing.assert_allclose(reps, loop, rtol=0, atol=1e-12)
    idx = next(sig.resample_blocks(t.size, 5, seed=4))
    codes, levels = sig._dense(a)
    np.testing.assert_array_equal(sig._average_ranks(codes, levels, idx), rankdata(a[idx], axis=1))
    full = sig.replicate_correlations([a], t, "spearman", 500, seed=0)[:, 0]
    np.testing.assert_allclose(np.percentile(full, [2.5, 97.5]), stats.bootstrap_ci(stats.spearman, a, t, 500), 1e-12)
    kt = sig.replicate_correlations([a], t, "kendall", 5, seed=4)[:, 0]
    np.testing.assert_allclose(kt, [stats.kendall(a[i], t[i]) for i in idx], atol=1e-15)


def test_seeds(acc):
    a, b = noisy(acc, 1.0, 6), noisy(acc, 1.1, 7)
    one = sig.paired_bootstrap(a, b, acc, resamples=200, seed=3)
    assert one == sig.paired_bootstrap(a, b, acc, resamples=200, seed=3)  # bit-identical, verdict included
    r3 = sig.replicate_correlations([a, b], acc, "spearman", 200, seed=3)
    assert np.array_equal(r3, sig.replicate_correlations([a, b], acc, "spearman", 200, seed=3))
    r4 = sig.replicate_correlations([a, b], acc, "spearman", 200, seed=4)
    assert not np.array_equal(r3, r4)
    other = sig.paired_bootstrap(a, b, acc, resamples=200, seed=4)
    assert other.diff == one.diff and (other.lo, other.hi) != (one.lo, one.hi)
    assert "seed 4" in other.verdict


def test_nan_policies(acc):
    a, b = noisy(acc, 0.5, 8), noisy(acc, 0.8, 9)
    a[:10] = np.nan
    b[5:25] = np.inf
    t = acc.copy()
    t[390:] = np.nan
    c = sig.paired_bootstrap(a, b, t, resamples=100)
    keep = np.isfinite(a) & np.isfinite(b) & np.isfinite(t)
    assert c.n == int(keep.sum()) == 400 - 25 - 10
    assert c.rho_a == stats.spearman(a[keep], t[keep]) and c.rho_b == stats.spearman(b[keep], t[keep])
    ref = sig.paired_bootstrap(a[keep], b[keep], t[keep], resamples=100)
    assert (c.lo, c.hi, c.p_value) == (ref.lo, ref.hi, ref.p_value)
    w = sig.paired_bootstrap(a, b, t, resamples=100, score_nan="worst")
    assert w.n == 390 and w.rho_a == stats.spearman(a, t, "worst") and w.rho_b == stats.spearman(b, t, "worst")


def test_abs_sign(acc):
    """An anti-correlated proxy loses signed and wins with |ρ| (Abdelfattah et al.'s convention)."""
    neg, pos = -noisy(acc, 0.3, 10), noisy(acc, 1.0, 11)
    signed = sig.paired_bootstrap(neg, pos, acc, resamples=200, names=("neg", "pos"))
    absolute = sig.paired_bootstrap(neg, pos, acc, resamples=200, sign="abs", names=("neg", "pos"))
    assert signed.better == "pos" and signed.rho_a < 0
    assert absolute.better == "neg" and absolute.rho_a == -signed.rho_a and absolute.lo > 0
    assert "|ρ|(neg) − |ρ|(pos)" in absolute.verdict


def test_undefined_and_bad_options(acc):
    c = sig.paired_bootstrap(np.ones(acc.size), acc, acc, resamples=10, names=("flat", "acc"))
    assert math.isnan(c.diff) and c.better is None and c.verdict.startswith("cannot compare: ρ undefined for flat")
    for kw, msg in (
        ({"resamples": 0}, "resamples"),
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0}, "confidence"),
        ({"metric": "pearson"}, "metric"),
        ({"sign": "neg"}, "sign"),
        ({"score_nan": "zero"}, "NaN"),
    ):
        with pytest.raises(UsageError, match=msg):
            sig.paired_bootstrap(acc, acc, acc, **kw)
    with pytest.raises(UsageError, match="lengths differ"):
        sig.paired_bootstrap(acc, acc[:-1], acc)


def test_confidence_widens(acc):
    a, b = noisy(acc, 1.0, 12), noisy(acc, 1.2, 13)
    c90 = sig.paired_bootstrap(a, b, acc, resamples=300, confidence=0.9)
    c99 = sig.paired_bootstrap(a, b, acc, resamples=300, confidence=0.99)
    assert c99.lo < c90.lo < c90.hi < c99.hi and "99% CI" in c99.verdict


# -- ties --------------------------------------------------------------------------------------
def three_proxy_frame(acc: np.ndarray) -> pd.DataFrame:
    n = acc.size
    parts = []
    for dataset, shift in (("cifar10", 0), ("cifar100", 100)):
        parts.append(
            pd.DataFrame(
                {
                    "space": "nb201",
                    "dataset": dataset,
                    "index": np.arange(n),
                    "arch": [f"a{i}" for i in range(n)],
                    "best": noisy(acc, 0.5, 20 + shift),
                    "close": noisy(acc, 0.6, 21 + shift),
                    "worse": noisy(acc, 2.0, 22 + shift),
                    "val_accuracy": acc,
                    "test_accuracy": acc,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_tied_with_best(acc):
    frame = three_proxy_frame(acc).query("dataset == 'cifar10'")
    scores = {p: frame[p].to_numpy() for p in ("worse", "close", "best")}
    res = sig.tied_with_best(scores, acc, resamples=300, seed=1)
    rows = {r.proxy: r for r in res.rows}
    assert res.best == "best" and [r.proxy for r in res.rows] == ["worse", "close", "best"]
    assert rows["best"].tied and rows["best"].diff_to_best == 0
    assert rows["close"].tied and rows["close"].lo < 0 < rows["close"].hi
    assert not rows["worse"].tied and rows["worse"].lo > 0
    pair = sig.paired_bootstrap(scores["best"], scores["worse"], acc, resamples=300, seed=1)
    assert (rows["worse"].diff_to_best, rows["worse"].lo, rows["worse"].hi) == (pair.diff, pair.lo, pair.hi)
    assert res == sig.tied_with_best(scores, acc, resamples=300, seed=1)
    # a proxy missing on some architectures is paired with the best on the ones both have
    holes = dict(scores, worse=np.where(np.arange(acc.size) < 50, np.nan, scores["worse"]))
    r2 = {r.proxy: r for r in sig.tied_with_best(holes, acc, resamples=300, seed=1).rows}
    assert r2["worse"].n == acc.size - 50 and r2["close"] == rows["close"]
    alone = sig.paired_bootstrap(scores["best"][50:], scores["worse"][50:], acc[50:], resamples=300, seed=1)
    assert (r2["worse"].lo, r2["worse"].hi) == (alone.lo, alone.hi)


def test_tie_table(acc):
    df = sig.tie_table(three_proxy_frame(acc), resamples=300, seed=2)
    assert len(df) == 6 and list(df.columns[-2:]) == ["p_value", "tied_with_best"]
    for dataset, block in df.groupby("dataset"):
        marks = dict(zip(block["proxy"], block["tied_with_best"]))
        assert block["proxy"].iloc[0] == "best" == block["best"].iloc[0], dataset
        assert marks == {"best": True, "close": True, "worse": False}, dataset
    again = sig.tie_table(three_proxy_frame(acc), resamples=300, seed=2)
    pd.testing.assert_frame_equal(df, again)
    assert "paired percentile bootstrap" in df.attrs["caption"]
    with pytest.raises(UsageError, match="unknown proxy nope"):
        sig.tie_table(three_proxy_frame(acc), proxies=["nope"])


# -- CLI and the documentation -----------------------------------------------------------------
def write_results(path: Path, n: int = 200) -> None:
    """The small results file the doc's examples run on: NB201 CIFAR-10/100, three proxies whose
    scores are the accuracy plus noise of 0.6, 0.7 and 1.5 standard deviations."""
    rng = np.random.default_rng(2024)
    with ResultStore(path) as st:
        for dataset in ("cifar10", "cifar100"):
            acc = rng.normal(size=n)
            val = 80 + 5 * acc
            test = val + rng.normal(size=n) * 0.5
            for proxy, sd in (("synflow", 0.6), ("snip", 0.7), ("grad_norm", 1.5)):
                s = acc + sd * rng.normal(size=n)
                rows = [Row(i, f"arch{i}", float(s[i]), 0.01, float(val[i]), float(test[i])) for i in range(n)]
                st.append(RunKey("nb201", dataset, proxy, data_free=True), RunInfo(), rows)


@pytest.fixture
def results_dir(tmp_path, monkeypatch) -> Path:
    (tmp_path / "results").mkdir()
    write_results(tmp_path / "results" / "zcbench.h5")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZCBENCH_PROGRESS", "0")
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def doc_commands() -> list[tuple[str, str]]:
    return console_commands(DOC, "$ zcbench ")


def test_doc_commands_run_and_print_what_the_doc_shows(results_dir):
    cmds = doc_commands()
    assert len(cmds) >= 4
    for cmd, expected in cmds:
        res = invoke(*shlex.split(cmd)[1:])
        assert res.exit_code == 0, (cmd, res.output)
        assert res.stdout == expected, f"{cmd}\n--- doc\n{expected}\n--- got\n{res.stdout}"


def test_cli_json_matches_library(results_dir):
    res = invoke("compare", "synflow", "grad_norm", "--format", "json", "--resamples", "300", "--seed", "5")
    rows = json.loads(res.stdout)
    assert [(r["space"], r["dataset"]) for r in rows] == [("nb201", "cifar10"), ("nb201", "cifar100")]
    from zcbench.store import load_frame

    block = load_frame("results/zcbench.h5").query("dataset == 'cifar10'")
    a, b, t = block["synflow"], block["grad_norm"], block["val_accuracy"]
    lib = sig.paired_bootstrap(a, b, t, resamples=300, seed=5, names=("synflow", "grad_norm"))
    assert rows[0]["lo"] == lib.lo and rows[0]["verdict"] == lib.verdict and rows[0]["better"] == "synflow"
    assert rows[0]["rho_a"] == stats.spearman(block["synflow"], block["val_accuracy"])
    test = json.loads(invoke("compare", "synflow", "snip", "--target", "test", "--format", "json").stdout)
    assert test[0]["rho_a"] == stats.spearman(block["synflow"], block["test_accuracy"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "synflow", "nope"], "unknown proxy nope in results/zcbench.h5 (have: grad_norm, snip, synflow)"),
        (["compare", "synflow", "snip", "--resamples", "0"], "resamples must be a positive integer"),
        (["compare", "synflow", "snip", "--confidence", "1.5"], "confidence must lie strictly between 0 and 1"),
        (["compare", "synflow", "snip", "--confidence", "0"], "confidence must lie strictly between 0 and 1"),
        (["compare", "synflow", "snip", "--space", "nb101"], "no (space, dataset) of results/zcbench.h5 holds"),
        (["compare", "synflow"], "expected [RESULTS] A B"),
        (["compare", "snip", "snip"], "same proxy"),
        (["compare", "missing.h5", "synflow", "snip"], "missing.h5: no such results file"),
        (["compare", "synflow", "snip", "--proxy", "snip"], "--proxy goes with --ties"),
        (["compare", "--ties", "--proxy", "nope"], "unknown proxy nope"),
    ],
)
def test_cli_errors_are_one_line(results_dir, args, message):
    res = invoke(*args)
    err = res.stderr.strip()
    assert res.exit_code == 2 and res.stdout == ""
    assert err.startswith("zcbench: error:") and "\n" not in err and message in err, err


def test_cli_checks_numbers_before_reading(tmp_path):
    """Bad numbers are refused before the (here absent) results file is opened."""
    res = invoke("compare", str(tmp_path / "absent.h5"), "a", "b", "--resamples", "-3")
    assert res.exit_code == 2 and "resamples" in res.stderr and "absent" not in res.stderr


def test_help_names_the_method():
    res = invoke("compare", "--help")
    text = " ".join(res.stdout.split())
    assert res.exit_code == 0 and "Efron & Tibshirani 1993" in text and "[RESULTS] A B" in text


# -- progress bars do not change numbers -------------------------------------------------------
def test_bootstrap_ci_bar(acc, monkeypatch, capsys):
    a = noisy(acc, 1.0, 30)
    monkeypatch.setenv("ZCBENCH_PROGRESS", "0")
    quiet = stats.bootstrap_ci(stats.spearman, a, acc, 50)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("ZCBENCH_PROGRESS", "1")
    assert stats.bootstrap_ci(stats.spearman, a, acc, 50) == quiet
    assert "bootstrap" in capsys.readouterr().err
    sig.paired_bootstrap(a, acc, acc, resamples=20)
    assert "paired bootstrap" in capsys.readouterr().err
