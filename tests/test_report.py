"""Protocols, paper comparison, output formats and the ``correlate`` command on miniature data."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from zcbench import report as rep
from zcbench.errors import UsageError
from zcbench.report import stats
from zcbench.report.significance import Bootstrap


def mini_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Two (space, dataset) blocks; ``good`` tracks val accuracy, ``bad`` is anti-correlated,
    ``flat`` is constant, synflow/jacov/snip allow the vote; one failed score per block."""
    rng = np.random.default_rng(seed)
    rows = []
    for space, dataset in (("nb201", "cifar10"), ("nb201", "cifar100")):
        val = rng.uniform(50, 90, n)
        test = val + rng.normal(0, 2, n)
        good = val + rng.normal(0, 5, n)
        good[3] = np.nan
        for i in range(n):
            rows.append(
                {
                    "space": space,
                    "dataset": dataset,
                    "index": i,
                    "arch": f"a{i}",
                    "good": good[i],
                    "bad": -val[i] + rng.normal(0, 5),
                    "flat": 1.0,
                    "synflow": val[i] + rng.normal(0, 3),
                    "jacov": val[i] + rng.normal(0, 8),
                    "snip": rng.normal(),
                    "val_accuracy": val[i],
                    "test_accuracy": test[i],
                }
            )
    return pd.DataFrame(rows)


def row(tab: pd.DataFrame, dataset: str, proxy: str) -> pd.Series:
    hit = tab[(tab["dataset"] == dataset) & (tab["proxy"] == proxy)]
    assert len(hit) == 1, (dataset, proxy)
    return hit.iloc[0]


def test_plain_table_matches_stats_and_omits_nan():
    f = mini_frame()
    tab = rep.correlation_table(f)
    block = f[f["dataset"] == "cifar10"]
    r = row(tab, "cifar10", "good")
    assert r["n"] == 39  # one failed score omitted
    assert r["spearman"] == pytest.approx(stats.spearman(block["good"], block["val_accuracy"]))
    assert r["kendall"] == pytest.approx(stats.kendall(block["good"], block["val_accuracy"]))
    assert row(tab, "cifar10", "bad")["spearman"] < -0.5  # signed by default
    assert math.isnan(row(tab, "cifar10", "flat")["spearman"])
    assert "vote" not in set(tab["proxy"])
    assert "signed" in tab.attrs["caption"] and "val accuracy" in tab.attrs["caption"]


def test_abdelfattah_preset_abs_test_target_and_vote():
    f = mini_frame()
    p = rep.load_protocol("abdelfattah2021")
    assert (p.target, p.sign, p.score_nan, p.vote) == ("test", "abs", "omit", True)
    tab = rep.correlation_table(f, p)
    block = f[f["dataset"] == "cifar100"]
    r = row(tab, "cifar100", "bad")
    assert r["spearman"] == pytest.approx(abs(stats.spearman(block["bad"], block["test_accuracy"])))
    v = row(tab, "cifar100", "vote")
    want = stats.vote([block[c] for c in ("synflow", "jacov", "snip")], block["test_accuracy"])
    assert v["vote"] == pytest.approx(want) and 0.5 < want <= 1
    assert math.isnan(v["spearman"])
    assert "|ρ|" in tab.attrs["caption"] and "test accuracy" in tab.attrs["caption"]


def test_suite_zero_preset_on_miniature_dump():
    f = mini_frame(n=30)
    p = rep.load_protocol("suite-zero")
    assert p.seeds == tuple(range(9000, 9010)) and p.sample_size == 1000 and p.corr_nan == "zero"
    tab = rep.correlation_table(f, p)
    # fewer than 1000 architectures: every seed uses all 30, and the caption says so
    assert any("fewer than 1000" in n for n in tab.attrs["notes"])
    assert "fewer than 1000" in tab.attrs["caption"]
    block = f[f["dataset"] == "cifar10"]
    g = block["good"].fillna(stats.WORST_SCORE)  # NASLib: failed score -> -1e8
    assert row(tab, "cifar10", "good")["n"] == 30
    assert row(tab, "cifar10", "good")["spearman"] == pytest.approx(stats.spearman(g, block["val_accuracy"]))
    assert row(tab, "cifar10", "flat")["spearman"] == 0.0  # undefined correlation counted as 0


def test_sampling_protocol_is_the_mean_over_seeded_samples():
    f = mini_frame(n=40)
    p = rep.Protocol(name="t", sample_size=10, seeds=(1, 2, 3), score_nan="worst", corr_nan="zero")
    tab = rep.correlation_table(f, p, metrics=["spearman"])
    block = f[f["dataset"] == "cifar10"].reset_index(drop=True)
    vals = []
    for s in (1, 2, 3):
        idx = stats.sample_indices(40, 10, s)
        vals.append(stats.spearman(block["bad"][idx], block["val_accuracy"][idx], "worst"))
    r = row(tab, "cifar10", "bad")
    assert r["spearman"] == pytest.approx(np.mean(vals)) and r["n"] == 10 and r["samples"] == 3


def test_topk_and_ci_columns():
    f = mini_frame(n=80)
    tab = rep.correlation_table(
        f, metrics=["spearman"] + rep.topk_metrics(10), proxies=["good"], ci=True, resampling=Bootstrap(resamples=60)
    )
    r = row(tab, "cifar10", "good")
    block = f[f["dataset"] == "cifar10"]
    assert r["overlap_top10"] == pytest.approx(stats.top_k_overlap(block["good"], block["val_accuracy"], 10))
    assert r["top64_in_top5"] == stats.top_n_in_top_k(block["good"], block["val_accuracy"], 64, 5)
    assert r["spearman_lo"] <= r["spearman"] <= r["spearman_hi"]
    assert list(tab["proxy"].unique()) == ["good"]


def test_protocol_errors_are_one_line():
    with pytest.raises(UsageError):
        rep.load_protocol("no-such-protocol")
    with pytest.raises(UsageError):
        rep.Protocol(target="train")
    with pytest.raises(UsageError):
        rep.Protocol(metrics=("spearmann",))
    with pytest.raises(UsageError):
        rep.correlation_table(mini_frame(), proxies=["nothing*"])


def test_presets_load():
    assert {"plain", "abdelfattah2021", "suite-zero", "swap2024"} <= set(rep.list_presets("protocol"))
    a = rep.load_paper("abdelfattah2021")
    t1 = next(t for t in a.tables if t.id == "nb201-table1")
    assert t1.values["cifar100"]["synflow"] == 0.763 and t1.values["cifar10"]["jacov"] == 0.731
    assert next(t for t in a.tables if t.metric == "vote").values["cifar10"]["vote"] == 0.8171
    s = rep.load_paper("suite-zero")
    cells = {(t.space, d, p): v for t in s.tables for d, c in t.values.items() for p, v in c.items()}
    assert len(cells) == 13 * 5 + 13 * 14
    assert cells[("nb101", "cifar10", "jacov")] == -0.29
    assert cells[("tnb101_macro", "class_scene", "nwot")] == 0.89
    assert rep.load_paper("swap2024").tables[0].values["cifar100"]["reg_swap"] == 0.90


PAPER_YAML = """
name: mini
title: A miniature paper
source: test
protocol: plain
tables:
  - id: t1
    space: nb201
    metric: spearman
    values:
      cifar10: {good: %(good).6f, nwot: 0.5}
      ImageNet16-120: {good: 0.7}
  - id: t2
    space: nb201
    metric: vote
    overrides: {target: test}
    values:
      cifar10: {vote: %(vote).6f}
"""


def _paper(tmp_path, f, shift=0.0):
    b = f[f["dataset"] == "cifar10"]
    good = stats.spearman(b["good"], b["val_accuracy"])
    vote = stats.vote([b[c] for c in ("synflow", "jacov", "snip")], b["test_accuracy"])
    p = tmp_path / "mini.yaml"
    p.write_text(PAPER_YAML % {"good": good + shift, "vote": vote})
    return p, good


def test_compare_paper_marks_missing_cells(tmp_path):
    f = mini_frame()
    path, good = _paper(tmp_path, f)
    cmp = rep.compare_paper(f, rep.load_paper(str(path)))
    assert len(cmp) == 4  # no cell is hidden
    ok = cmp[(cmp["proxy"] == "good") & (cmp["dataset"] == "cifar10")].iloc[0]
    assert ok["status"] == "ok" and ok["ours"] == pytest.approx(good) and abs(ok["delta"]) < 1e-5
    assert cmp[cmp["proxy"] == "nwot"].iloc[0]["status"] == "missing: no nwot scores"
    assert "no results for nb201/ImageNet16-120" in cmp[cmp["dataset"] == "ImageNet16-120"].iloc[0]["status"]
    v = cmp[cmp["proxy"] == "vote"].iloc[0]
    assert v["status"] == "ok" and abs(v["delta"]) < 1e-5 and v["target"] == "test"
    assert rep.check_failures(cmp[cmp["status"] == "ok"], 0.01) == []
    f2 = f.copy()
    f2["test_accuracy"] = np.nan
    cmp2 = rep.compare_paper(f2, rep.load_paper(str(path)))
    assert "no test accuracies" in cmp2[cmp2["proxy"] == "vote"].iloc[0]["status"]


# -- output formats ----------------------------------------------------------------------------
def _table():
    tab = rep.correlation_table(mini_frame(), rep.load_protocol("abdelfattah2021"), metrics=["spearman", "kendall"])
    return tab


def test_every_format_parses():
    tab = _table()
    cap = tab.attrs["caption"]
    shown = rep.display_frame(tab, "table")
    # csv: round trip
    back = pd.read_csv(io.StringIO(rep.format_frame(tab, "csv")))
    assert list(back.columns) == list(tab.columns) and len(back) == len(tab)
    np.testing.assert_allclose(back["spearman"].to_numpy(float), tab["spearman"].to_numpy(float), rtol=1e-5)
    assert set(back["sign"]) == {"abs"}
    # json: list of objects, NaN -> null
    recs = json.loads(rep.format_frame(tab, "json"))
    assert isinstance(recs, list) and {"space", "dataset", "proxy", "target", "n", "spearman", "kendall"} <= set(
        recs[0]
    )
    assert any(r["spearman"] is None for r in recs)  # vote row / constant proxy
    # markdown: caption line, then a pipe table with a consistent column count
    md = rep.format_frame(shown, "markdown", cap).splitlines()
    assert md[0].startswith("*protocol abdelfattah2021")
    pipe = [line for line in md if line.startswith("|")]
    assert len(pipe) == len(shown) + 2 and len({line.count("|") for line in pipe}) == 1
    assert set(pipe[1].replace("|", "").replace("-", "").replace(":", "")) == set()
    # latex booktabs: rules present, every row has the same number of cells
    tex = rep.format_frame(shown, "latex", cap)
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"\caption{"):
        assert rule in tex
    body = tex.split("\\midrule\n")[1].split("\\bottomrule")[0].strip().splitlines()
    assert len(body) == len(shown)
    assert all(line.count(" & ") == shown.shape[1] - 1 and line.endswith(r"\\") for line in body)
    assert "nb201" in tex and "$\\rho$" in tex  # |ρ| in the caption is LaTeX math
    assert rep.latex_escape("grad_norm 10% & Δ") == r"grad\_norm 10\% \& $\Delta$"
    # terminal table: header then rule then rows, caption last
    txt = rep.format_frame(shown, "table", cap).splitlines()
    assert txt[0].split() == [str(c) for c in shown.columns]
    assert set(txt[1].replace(" ", "")) == {"-"} and txt[-1] == cap
    with pytest.raises(UsageError):
        rep.format_frame(tab, "xml")


# -- CLI -------------------------------------------------------------------------------------------
def write_results(path, frame: pd.DataFrame) -> None:
    """Write ``frame`` through the lead's store, one run per (space, dataset, proxy)."""
    store = pytest.importorskip("zcbench.store")
    with store.ResultStore(path) as st:
        for (space, dataset), b in frame.groupby(["space", "dataset"]):
            for proxy in [c for c in b.columns if c not in rep.META_COLUMNS]:
                key = store.RunKey(space=space, dataset=dataset, proxy=proxy, data_free=True)
                rows = [
                    store.Row(
                        int(r["index"]),
                        r["arch"],
                        float(r[proxy]),
                        0.0,
                        float(r["val_accuracy"]),
                        float(r["test_accuracy"]),
                    )
                    for _, r in b.iterrows()
                ]
                st.append(key, store.RunInfo(), rows)


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("res") / "r.h5"
    write_results(path, mini_frame(n=30))
    return path


def _cli():
    from zcbench.cli import main

    return main


def test_cli_correlate_json_contract(results_file):
    res = CliRunner().invoke(_cli(), ["correlate", str(results_file), "--format", "json", "--target", "test"])
    assert res.exit_code == 0, res.output
    recs = json.loads(res.output)
    assert {(r["space"], r["dataset"]) for r in recs} == {("nb201", "cifar10"), ("nb201", "cifar100")}
    r = next(r for r in recs if r["proxy"] == "bad" and r["dataset"] == "cifar10")
    assert {"space", "dataset", "proxy", "target", "n", "spearman", "kendall"} <= set(r)
    assert r["target"] == "test" and r["n"] == 30 and r["spearman"] < -0.5


def test_cli_correlate_formats_and_protocol(results_file, tmp_path):
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(
        _cli(),
        [
            "correlate",
            str(results_file),
            "--protocol",
            "abdelfattah2021",
            "--top-k",
            "10",
            "--format",
            "csv",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert {"spearman_top10", "overlap_top10", "top64_in_top5"} <= set(rows[0])
    assert all(float(r["spearman"]) >= 0 for r in rows if r["spearman"])  # |rho|
    res = CliRunner().invoke(_cli(), ["correlate", str(results_file), "--format", "latex"])
    assert res.exit_code == 0 and r"\toprule" in res.output
    res = CliRunner().invoke(_cli(), ["correlate", str(results_file), "--protocol", "nope"])
    assert res.exit_code == 2 and "unknown protocol" in res.output


def test_cli_check_passes_and_fails(results_file, tmp_path):
    from zcbench.store import load_frame

    frame = load_frame(results_file)
    good_path, _ = _paper(tmp_path, frame)
    res = CliRunner().invoke(_cli(), ["correlate", str(results_file), "--paper", str(good_path), "--check", "0.01"])
    assert res.exit_code == 0, res.output
    assert "missing: no nwot scores" in res.output and "check passed" in res.output
    (tmp_path / "off").mkdir()
    off_path, _ = _paper(tmp_path / "off", frame, shift=0.05)
    res = CliRunner().invoke(_cli(), ["correlate", str(results_file), "--paper", str(off_path), "--check", "0.01"])
    assert res.exit_code == 1 and "check failed" in res.output and "good" in res.output
    res = CliRunner().invoke(_cli(), ["correlate", str(results_file), "--paper", str(off_path), "--check", "0.1"])
    assert res.exit_code == 0
    res = CliRunner().invoke(
        _cli(), ["correlate", str(results_file), "--paper", "suite-zero", "--space", "nb101", "--check", "0.1"]
    )
    assert res.exit_code == 1 and "no cell" in res.output


def test_real_naslib_nb201_signed_rho_near_published(shared_data):
    """NASLib's own NB201 scores (235 of the 491 archs of FIGURES §3.3): our signed ρ vs val
    accuracy should be near the 491-arch values computed from the same file (synflow 0.737,
    jacov 0.747, plain −0.167 on CIFAR-10); subsampling explains the small gap."""
    d = pd.read_csv(shared_data / "naslib-zc" / "nb201_cifar10.csv")
    d = d.assign(space="nb201", dataset="cifar10", index=range(len(d)), test_accuracy=np.nan)
    tab = rep.correlation_table(d, rep.load_protocol("plain"), proxies=["synflow", "jacov", "plain"])
    assert row(tab, "cifar10", "synflow")["n"] == 235
    assert row(tab, "cifar10", "synflow")["spearman"] == pytest.approx(0.737, abs=0.06)
    assert row(tab, "cifar10", "jacov")["spearman"] == pytest.approx(0.747, abs=0.06)
    assert row(tab, "cifar10", "plain")["spearman"] == pytest.approx(-0.167, abs=0.06)


def test_samsung_network_rows_compare_with_the_same_published_cells():
    """Scores of ``--variant samsung`` (space ``nb201[samsung]``) are compared with Table 1 and vote in
    their own rows; the official network's rows stay separate."""
    f = mini_frame()
    f.loc[f["dataset"] == "cifar100", "space"] = "nb201[samsung]"
    cmp = rep.compare_paper(
        f, rep.load_paper("abdelfattah2021"), tables=["nb201-samsung-table1", "nb201-samsung-vote", "nb201-table1"]
    )
    sam = cmp[(cmp["space"] == "nb201[samsung]") & (cmp["dataset"] == "cifar100")]
    syn = sam[sam["proxy"] == "synflow"].iloc[0]
    block = f[f["dataset"] == "cifar100"]
    assert syn["status"] == "ok" and syn["paper"] == 0.763
    assert syn["ours"] == pytest.approx(abs(stats.spearman(block["synflow"], block["test_accuracy"])))
    assert sam[sam["proxy"] == "vote"].iloc[0]["status"] == "ok"
    official = cmp[(cmp["space"] == "nb201") & (cmp["dataset"] == "cifar100")]
    assert official["status"].str.startswith("missing").all()  # cifar100 rows are all samsung here


def test_cli_export_table_and_json_through_the_shared_formatter(results_file):
    args = ["export", str(results_file), "--format", "table", "--sort", "good", "--head", "3"]
    res = CliRunner().invoke(_cli(), args)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split()[:4] == ["rank", "space", "dataset", "index"] and len(lines) == 2 + 3
    assert [line.split()[0] for line in lines[2:]] == ["1", "2", "3"]
    res = CliRunner().invoke(_cli(), ["export", str(results_file), "--format", "json", "--dataset", "cifar10"])
    recs = json.loads(res.output)
    assert len(recs) == 30 and isinstance(recs[0]["index"], int)
    assert [r["index"] for r in recs if r["good"] is None] == [3]  # the failed score is null, not NaN
