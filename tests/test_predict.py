"""``zcbench predict``: predictors on constructed data whose answer is known (a feature equal to the target
ranks perfectly, a random one not at all), seeded and disjoint draws, the Suite-Zero preset on the real
NASLib sample, and one-line refusals of bad input before any model is fitted."""

from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import zcbench as zc
from zcbench.errors import UsageError
from zcbench.predictors import (
    MODELS,
    PredictSettings,
    evaluate,
    make_predictor,
    pool_from_frame,
    predict_frame,
    resolve,
)
from zcbench.predictors.evaluation import check_sizes, draw
from zcbench.predictors.models import check_model
from zcbench.spaces import get_space
from zcbench.store import ResultStore, Row, RunInfo, RunKey


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """NB201 cells with val accuracy; ``exact`` = the accuracy itself, ``noise`` = unrelated, ``mono`` = a
    monotone map of the accuracy spanning many orders of magnitude, ``half`` = accuracy + noise."""
    rng = np.random.default_rng(seed)
    archs = get_space("nb201").sample(n, seed)
    val = rng.normal(70, 5, n)
    return pd.DataFrame(
        {
            "space": "nb201",
            "dataset": "cifar100",
            "index": np.arange(n),
            "arch": archs,
            "val_accuracy": val,
            "test_accuracy": val + rng.normal(0, 0.1, n),
            "exact": val,
            "noise": rng.normal(size=n),
            "mono": np.exp(val),
            "half": val + rng.normal(0, 5, n),
        }
    )


def _table(frame, **kw):
    cfg = resolve(None, {"space": "nb201", "dataset": "cifar100", "trials": 3, "test": 100, "train": [50], **kw})
    return predict_frame(frame, cfg)


def _cli():
    from zcbench.cli import main

    return main


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    """A results file with two proxy runs over 300 NB201 cells (snip tracks the accuracy, synflow does not)."""
    path = tmp_path_factory.mktemp("predict") / "r.h5"
    f = _frame(300)
    with ResultStore(path) as st:
        for proxy, col in (("snip", "half"), ("synflow", "noise")):
            rows = [Row(i, a, float(s), 0.01, float(v), float(t)) for i, a, s, v, t in
                    zip(f["index"], f["arch"], f[col], f["val_accuracy"], f["test_accuracy"])]  # fmt: skip
            st.append(RunKey("nb201", "cifar100", proxy, data_free=True), RunInfo(), rows)
    return path


# -- known answers ------------------------------------------------------------------------------------------
def test_feature_equal_to_target_ranks_perfectly():
    f = _frame(160)
    t = _table(f, features=["zc"], proxy=["exact"], model=["ridge", "svr", "gp"]).set_index("model")
    ridge = t.loc["ridge"]
    assert ridge["spearman_mean"] == pytest.approx(1.0) and ridge["kendall_mean"] == pytest.approx(1.0)
    assert t.loc["ridge", "spearman_std"] == pytest.approx(0.0, abs=1e-12)
    assert (t["spearman_mean"] > 0.99).all(), t  # kernels bend at the ends of the range, barely
    # trees see raw values; a monotone map spanning ~1e30 changes nothing for them, nor (ranks) for the others
    t = _table(f, features=["zc"], proxy=["mono"], model=["xgb", "rf", "ridge"])
    assert (t["spearman_mean"] > 0.97).all(), t
    assert t.set_index("model").loc["ridge", "spearman_mean"] == pytest.approx(1.0)


def test_random_feature_ranks_at_chance():
    t = _table(_frame(1200), features=["zc"], proxy=["noise"], model=["ridge", "rf"], test=1000, trials=8)
    assert (t["spearman_mean"].abs() < 0.05).all(), t
    assert (t["spearman_std"] < 0.1).all()


def test_more_features_and_data_help_a_noisy_proxy():
    f = _frame(600)
    t = _table(f, features=["zc"], proxy=["half", "noise"], model=["ridge"], train=[10, 200], test=300, trials=6)
    rho = t.set_index("train")["spearman_mean"]
    assert 0.5 < rho[10] < rho[200] < 0.8  # half = accuracy + noise of equal spread: ρ ≈ 0.7 at best


def test_encoding_features_are_the_spaces_encoding():
    f = _frame(300)
    pool = pool_from_frame(f, "nb201", "cifar100", ["exact"])
    enc = pool.matrix("encoding", "raw")
    sp = get_space("nb201")
    assert enc.shape == (300, 30) and np.array_equal(enc[7], sp.encode(pool.archs[7]))
    both = pool.matrix("encoding+zc", "rank")
    assert both.shape == (300, 31) and np.array_equal(both[:, :30], enc)
    assert np.argsort(both[:, 30]).tolist() == np.argsort(pool.val).tolist()  # the rank column orders by accuracy
    raw = pool_from_frame(f.assign(exact=np.inf), "nb201", "cifar100", ["exact"]).matrix("zc", "raw")
    assert (raw == 1e9).all()  # NASLib's ±inf → ±1e9
    huge = pool_from_frame(f.assign(exact=10.0 ** (f["val_accuracy"] - 20)), "nb201", "cifar100", ["exact"])
    col = huge.matrix("zc", "raw")[:, 0]  # 1e40..1e60 does not fit float32: log-compressed, order kept
    assert col.max() < 100 and np.argsort(col).tolist() == np.argsort(huge.val).tolist()


def test_missing_scores_leave_the_pool_and_are_counted():
    f = _frame(200)
    f.loc[:9, "half"] = np.nan
    pool = pool_from_frame(f, "nb201", "cifar100", ["half"])
    assert len(pool) == 190 and pool.dropped == 10
    assert len(pool_from_frame(f, "nb201", "cifar100", ())) == 200  # encoding only: every architecture
    t = _table(f, features=["zc"], proxy=["half"], model=["ridge"])
    assert "10 left out for a missing score" in t.attrs["caption"]


# -- draws and seeds ----------------------------------------------------------------------------------------
def test_draws_disjoint_nested_and_seeded():
    s = PredictSettings(train=(10, 50), test=100, trials=3, seed=4)
    test, order = draw(400, s, 0)
    assert len(test) == 100 and len(order) == 50 and not set(test) & set(order)
    again, order2 = draw(400, s, 0)
    assert np.array_equal(test, again) and np.array_equal(order, order2)
    other, _ = draw(400, s, 1)
    assert not np.array_equal(test, other)


def test_same_seed_same_table_other_seed_other_numbers():
    f = _frame(300)
    a = _table(f, features=["zc"], proxy=["half"], model=["rf"], seed=3)
    b = _table(f, features=["zc"], proxy=["half"], model=["rf"], seed=3)
    c = _table(f, features=["zc"], proxy=["half"], model=["rf"], seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert a["spearman_mean"].iloc[0] != c["spearman_mean"].iloc[0]


def test_every_model_fits_and_predicts():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = 2 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=60)
    for name in MODELS.names():
        p = make_predictor(name, 0).fit(x[:40], y[:40]).predict(x[40:])
        assert p.shape == (20,) and np.corrcoef(p, y[40:])[0, 1] > 0.8, name


# -- the published protocol on the real NASLib sample ------------------------------------------------------
@pytest.fixture(scope="module")
def naslib_frame(shared_data):
    """NASLib's NB201 CIFAR-100 sample (235 architectures, 11 proxies) as a results frame of imported scores."""
    rows = list(csv.DictReader(open(shared_data / "naslib-zc" / "nb201_cifar100.csv")))
    proxies = [k for k in rows[0] if k not in ("arch", "val_accuracy")]
    return pd.DataFrame(
        [{"space": "nb201", "dataset": "cifar100", "index": i, "arch": r["arch"], "test_accuracy": np.nan,
          "val_accuracy": float(r["val_accuracy"]), **{f"{p}@naslib": float(r[p]) for p in proxies}}
         for i, r in enumerate(rows)]
    )  # fmt: skip


def test_suite_zero_preset_test_sized_on_the_naslib_sample(naslib_frame):
    """The preset's protocol (XGBoost, NASLib's hyper-parameters) at 100 train / 135 test on the 235-architecture
    sample: ZC features beat the encoding by a wide margin, as Suite-Zero's 0.640 vs 0.907/0.908."""
    cfg = resolve("suite-zero-xgb", {"proxy": ["*"], "test": 135, "trials": 10})
    t = predict_frame(naslib_frame, cfg).set_index("features")
    assert list(t["paper_spearman"]) == [0.640, 0.907, 0.908] and list(t["paper_std"]) == [0.042, 0.013, 0.012]
    assert np.allclose(t["delta"], t["spearman_mean"] - t["paper_spearman"])
    assert 0.5 < t.loc["encoding", "spearman_mean"] < 0.75
    assert t.loc["zc", "spearman_mean"] > 0.85 and t.loc["encoding+zc", "spearman_mean"] > 0.85
    assert "epe_nas, fisher, flops" in t.attrs["caption"]


def test_suite_zero_preset_is_naslibs_xgboost():
    cfg = resolve("suite-zero-xgb", {})
    assert (cfg["train"], cfg["test"], cfg["trials"], cfg["source"]) == ([100], 1000, 100, "naslib")
    assert cfg["features"] == ["encoding", "zc", "encoding+zc"] and cfg["model"] == ["xgb"] and len(cfg["proxy"]) == 13
    xgb = cfg["params"]["xgb"]
    assert (xgb["n_estimators"], xgb["max_depth"], xgb["learning_rate"], xgb["min_child_weight"]) == (500, 6, 0.3, 1)


# -- CLI, API, bad input ------------------------------------------------------------------------------------
def test_cli_formats_plot_and_api_agree(results_file, tmp_path):
    args = ["predict", str(results_file), "--features", "zc,encoding+zc", "--model", "ridge", "--model", "rf",
            "--train", "10,50", "--test", "100", "--trials", "2"]  # fmt: skip
    res = CliRunner().invoke(_cli(), [*args, "--format", "json", "--plot", str(tmp_path / "lc.png")])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 2 * 2 * 2 and (tmp_path / "lc.png").stat().st_size > 1000
    for key in ("features", "model", "train", "test", "trials", "spearman_mean", "spearman_std", "kendall_mean",
                "kendall_std"):  # fmt: skip
        assert key in rows[0]
    api = zc.predict(str(results_file), features=["zc", "encoding+zc"], model=["ridge", "rf"], train=[10, 50],
                     test=100, trials=2)  # fmt: skip
    assert np.allclose(api["spearman_mean"], [r["spearman_mean"] for r in rows])
    zc_ridge = api[(api["features"] == "zc") & (api["model"] == "ridge") & (api["train"] == 50)]
    assert zc_ridge["spearman_mean"].iloc[0] > 0.5  # snip tracks the accuracy
    quick = ["predict", str(results_file), "--model", "ridge", "--train", "10", "--test", "50", "--trials", "2"]
    for fmt, needle in (("csv", "features,model,train"), ("markdown", "| features"), ("latex", r"\begin{table}")):
        res = CliRunner().invoke(_cli(), [*quick, "--format", fmt])
        assert res.exit_code == 0 and needle in res.stdout, res.output
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(_cli(), [*quick, "--format", "csv", "--out", str(out), "--proxy", "snip"])
    assert res.exit_code == 0 and res.stdout == "" and list(csv.DictReader(io.StringIO(out.read_text())))


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--test", "300"], "--test 300 asks for more test architectures than nb201/cifar100 has (300"),
        (["--test", "250", "--train", "100"], "more than nb201/cifar100 has"),
        (["--model", "nope"], "unknown predictor model 'nope'"),
        (["--features", "graph"], "unknown feature set 'graph'"),
        (["--train", "ten"], "train must be whole numbers"),
        (["--train", "1"], "--train must be at least 2"),
        (["--trials", "0"], "--trials must be at least 1"),
        (["--proxy", "zen"], "no proxy matches 'zen'"),
        (["--dataset", "cifar10"], "no rows for nb201/cifar10"),
        (["--source", "naslib"], "no imported naslib scores"),
        (["--config", "nope"], "unknown predict config 'nope'"),
        (["--out", "/proc/forbidden/t.txt"], "cannot write"),
        (["--plot", "lc.xyz"], "cannot write .xyz"),
    ],
)
def test_cli_bad_input_one_line_exit_2(results_file, extra, needle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(_cli(), ["predict", str(results_file), "--trials", "2", "--test", "50", *extra])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert needle in res.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_refusals_come_before_any_fit(monkeypatch):
    fits = []
    monkeypatch.setattr("zcbench.predictors.evaluation.score_trial", lambda *a: fits.append(1) or {})
    pool = pool_from_frame(_frame(100), "nb201", "cifar100", ["exact"])
    with pytest.raises(UsageError, match="more test architectures"):
        evaluate(pool, PredictSettings(test=100, trials=3))
    with pytest.raises(UsageError, match="disjoint"):
        check_sizes(pool, PredictSettings(test=50, train=(60,)).checked())
    assert not fits


def test_model_settings_and_missing_xgboost_are_one_line(monkeypatch):
    with pytest.raises(UsageError, match="model 'rf' refuses its settings"):
        check_model("rf", {"n_estimators": -3})
    with pytest.raises(UsageError, match="unknown predictor model"):
        resolve(None, {}) and PredictSettings(models=("forest",)).checked()
    monkeypatch.setitem(sys.modules, "xgboost", None)  # as if the extra were not installed
    with pytest.raises(UsageError, match=r"pip install 'zcbench\[xgboost\]'"):
        check_model("xgb")
    with pytest.raises(UsageError, match="unknown predict setting"):
        zc.predict(_frame(50), bogus=1)
