"""Each run is compared with its own accuracies (issue #19 §1).

Runs of one (space, dataset) can hold accuracies from different truths: another schedule of the same dump
(``--epochs 12``), or an imported Suite-Zero file beside the dump. Every correlation, plot, comparison, search
and export must use each run's own accuracies, and say so where a table puts different truths side by side.
"""

from __future__ import annotations

import io
import json

import docs_fixtures as DF
import nb201_fixtures as F
import numpy as np
import pandas as pd
import pytest
from test_trust import ok, run  # the CLI helpers of tests/test_trust.py

from zcbench import api as zc
from zcbench.report import stats
from zcbench.store import load_frame

IDX = [0, 7, 300, 1000, 2222, 5000, 9001, 15000]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("truths")
    dump = d / "NAS-Bench-201-v1_1-096897.pth"
    meta = F.write_nb201_pth(dump, IDX)
    archs = d / "archs.txt"
    archs.write_text("".join(meta[i] + "\n" for i in IDX))
    base = ("score", "--space", "nb201", "--dataset", "cifar10", "--dump", dump, "--archs", archs, "--quiet")
    mixed = d / "ep.h5"
    ok(run(*base, "--proxy", "params", "--out", mixed))
    ok(run(*base, "--epochs", "12", "--proxy", "flops", "--out", mixed))
    alone_params, alone_flops = d / "p.h5", d / "f.h5"
    ok(run(*base, "--proxy", "params", "--out", alone_params))
    ok(run(*base, "--epochs", "12", "--proxy", "flops", "--out", alone_flops))
    suite = DF.write_suite_zero(d / "zc_nasbench201.json", [DF.naslib_nb201_key(meta[i]) for i in IDX], ("cifar10",))
    imported = d / "imp.h5"
    ok(run(*base, "--proxy", "synflow", "--out", imported))
    ok(run("import", "naslib", suite, "--out", imported))
    return {"mixed": mixed, "params": alone_params, "flops": alone_flops, "suite": suite, "imported": imported}


def correlations(path, *extra) -> dict[str, float]:
    rows = json.loads(ok(run("correlate", path, "--format", "json", *extra)).stdout)
    return {r["proxy"]: r["spearman"] for r in rows}


def test_each_run_is_correlated_with_its_own_schedule(files):
    """The issue's report: params (200 epochs) was correlated against the flops run's 12-epoch accuracies."""
    mixed = correlations(files["mixed"])
    assert mixed["params"] == pytest.approx(correlations(files["params"])["params"])
    assert mixed["flops"] == pytest.approx(correlations(files["flops"])["flops"])
    text = ok(run("correlate", files["mixed"])).stdout
    assert "own run's accuracies" in text  # the table says it puts two truths side by side


def test_export_and_frame_carry_each_runs_accuracies(files):
    df = pd.read_csv(io.StringIO(ok(run("export", files["mixed"])).stdout))
    alone = pd.read_csv(io.StringIO(ok(run("export", files["params"])).stdout)).set_index("arch")
    other = [c for c in df.columns if c.startswith("val_accuracy:")]
    assert len(other) == 1  # the run that is not the table's main truth keeps its own column
    own_of = {"params": "val_accuracy", "flops": "val_accuracy", other[0].split(":", 1)[1]: other[0]}
    mine = df.set_index("arch")
    assert np.allclose(mine.loc[alone.index, own_of["params"]], alone["val_accuracy"])
    assert not np.allclose(mine[own_of["flops"]], mine[own_of["params"]])  # 12 and 200 epochs differ


def test_imported_scores_use_the_imported_files_accuracies(files):
    suite = json.loads(files["suite"].read_text())["cifar10"]
    frame = load_frame(files["imported"])
    key = {DF.naslib_nb201_key(a): a for a in frame["arch"]}
    theirs = pd.Series({key[k]: v["val_accuracy"] for k, v in suite.items()})
    block = frame.set_index("arch").loc[theirs.index]
    want = stats.spearman(block["synflow@naslib"], theirs)
    got = correlations(files["imported"])["synflow@naslib"]
    assert got == pytest.approx(want)
    dump_rho = stats.spearman(block["synflow@naslib"], block["val_accuracy"])
    assert got != pytest.approx(dump_rho)  # the dump's accuracies would give another number
    # --source naslib: the published scores under their bare names, still against NASLib's accuracies
    assert correlations(files["imported"], "--source", "naslib")["synflow"] == pytest.approx(want)


def test_compare_refuses_runs_with_different_truths(files):
    res = run("compare", files["imported"], "synflow", "synflow@naslib", "--resamples", "50")
    assert res.exit_code == 2
    assert "different accuracies" in res.stderr and "\n" not in res.stderr.strip()
    with pytest.raises(Exception, match="different accuracies"):
        zc.compare(files["imported"], "synflow", "synflow@naslib", resamples=50)


def test_ties_rank_proxies_only_among_their_own_truth(files):
    table = zc.ties(files["mixed"], resamples=50)
    assert set(table["best"]) == {"params", "flops"}  # each is the best of its own group
    assert "ranked among themselves" in table.attrs["caption"]


def test_search_refuses_proxies_of_different_truths(files, tmp_path):
    res = run("search", files["mixed"], "--proxy", "params", "--proxy", "flops", "--budget", "3", "--rounds", "1")
    assert res.exit_code == 2 and "different accuracies" in res.stderr


def test_predict_refuses_proxies_of_different_truths(files):
    res = run("predict", files["mixed"], "--features", "zc", "--proxy", "params", "--proxy", "flops")
    assert res.exit_code == 2 and "different accuracies" in res.stderr
