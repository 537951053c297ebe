"""Population proxies (az_nas, te_nas): their combination, and that every command computes them over
the set it compares, from the stored components."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as st

import zcbench as zc
from zcbench import report as rep
from zcbench.aggregates import AGGREGATES, AZ_NAS_INPUTS, TE_NAS_INPUTS, az_nas_scores, te_nas_scores
from zcbench.report.aggregate import with_aggregates


def test_az_nas_is_the_sum_of_log_ranks_by_hand():
    e, p, t, c = [3.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 2.0, 1.0], [10.0, 30.0, 20.0]
    # ranks: e 3,1,2  p 1,2,3  t 2.5,2.5,1  c 1,3,2 ; n = 3
    want = [math.log(3 / 3) + math.log(1 / 3) + math.log(2.5 / 3) + math.log(1 / 3)]
    want += [math.log(1 / 3) + math.log(2 / 3) + math.log(2.5 / 3) + math.log(3 / 3)]
    want += [math.log(2 / 3) + math.log(3 / 3) + math.log(1 / 3) + math.log(2 / 3)]
    assert np.allclose(az_nas_scores([e, p, t, c]), want)


def test_az_nas_nan_component_ranks_last_and_no_complexity_leaves_the_set():
    """The authors map NaN/−∞ components to −∞ (lowest rank); an architecture without FLOPs was not scored."""
    e = [1.0, np.nan, 3.0, 4.0]
    other = [1.0, 2.0, 3.0, 4.0]
    c = [1.0, 2.0, 3.0, np.nan]
    got = az_nas_scores([e, other, other, c])
    assert math.isnan(got[3])
    n = 3  # the set: the first three
    assert got[1] == pytest.approx(math.log(1 / n) + 2 * math.log(2 / n) + math.log(2 / n))
    assert got[0] == pytest.approx(math.log(2 / n) + 2 * math.log(1 / n) + math.log(1 / n))


def test_te_nas_ranks_lower_condition_number_higher():
    cond, regions = [10.0, 2.0, 5.0, np.nan], [3.0, 3.0, 1.0, 8.0]
    got = te_nas_scores([cond, regions])
    assert np.allclose(got[:3], [1 + 2.5, 3 + 2.5, 2 + 1]) and math.isnan(got[3])


def frame(n: int = 30, seed: int = 0) -> pd.DataFrame:
    """Two (space, dataset) tables whose AZ-NAS and TE-NAS components all track val accuracy."""
    rng = np.random.default_rng(seed)
    rows = []
    for dataset in ("cifar10", "cifar100"):
        val = rng.uniform(50, 90, n)
        for i in range(n):
            r = {"space": "nb201", "dataset": dataset, "index": i, "arch": f"a{i}"}
            r |= {c: val[i] + rng.normal(0, 10) for c in AZ_NAS_INPUTS}
            r |= {"ntk_cond": -val[i] + rng.normal(0, 10), "linear_regions": val[i] + rng.normal(0, 10)}
            r |= {"flops": rng.normal(), "val_accuracy": val[i], "test_accuracy": val[i] + rng.normal()}
            rows.append(r)
    return pd.DataFrame(rows)


def test_with_aggregates_ranks_each_table_alone():
    f = frame()
    out = with_aggregates(f)
    assert "az_nas" not in f.columns and list(out.columns)[-3:] == ["te_nas", "val_accuracy", "test_accuracy"]
    for _, block in f.groupby("dataset"):
        want = az_nas_scores([block[c].to_numpy() for c in AZ_NAS_INPUTS])
        assert np.allclose(out.loc[block.index, "az_nas"], want)
    # a table's values do not depend on the other tables (so --dataset selection does not change them)
    alone = with_aggregates(f[f["dataset"] == "cifar10"])
    assert np.allclose(alone["te_nas"], out.loc[f["dataset"] == "cifar10", "te_nas"])
    # but they do depend on the set: dropping architectures changes the others' values
    sub = with_aggregates(f.iloc[5:30])
    assert not np.allclose(sub["az_nas"], out["az_nas"].iloc[5:30])


def test_correlate_computes_them_and_says_over_which_set():
    tab = rep.correlation_table(frame(), metrics=["spearman"], proxies=["az_nas", "te_nas"])
    assert set(tab["proxy"]) == {"az_nas", "te_nas"} and (tab["spearman"] > 0.7).all()
    assert "population proxies" in tab.attrs["caption"] and "each (space, dataset)" in tab.attrs["caption"]


def test_sampling_protocol_ranks_within_each_sample():
    f = frame(n=60)
    proto = rep.Protocol(name="s", sample_size=20, seeds=(1, 2, 3), metrics=("spearman",))
    tab = rep.correlation_table(rep.select_rows(f, datasets=["cifar10"]), proto, proxies=["az_nas"])
    block = f[f["dataset"] == "cifar10"].reset_index(drop=True)
    rhos = []
    for s in proto.seeds:
        idx = rep.stats.sample_indices(len(block), 20, s)
        sub = block.iloc[idx]
        score = az_nas_scores([sub[c].to_numpy() for c in AZ_NAS_INPUTS])
        rhos.append(st.spearmanr(score, sub["val_accuracy"]).correlation)
    assert tab["spearman"].iloc[0] == pytest.approx(np.mean(rhos))


def test_compare_search_and_api_see_the_columns(tmp_path):
    from test_report import write_results

    from zcbench.search import problem_from_frame
    from zcbench.spaces import get_space

    f = frame()
    path = tmp_path / "r.h5"
    write_results(path, f)
    loaded = zc.load_results(path)
    assert {"az_nas", "te_nas"} <= set(rep.proxy_columns(loaded))
    cmp = zc.compare(path, "az_nas", "flops", resamples=50)
    assert len(cmp) == 2 and (cmp["rho_a"] > 0.7).all()
    raw = zc.load_results(path).drop(columns=["az_nas", "te_nas"])
    prob = problem_from_frame(raw, get_space("nb201"), "cifar10", ["te_nas"])
    block = raw[raw["dataset"] == "cifar10"]
    assert np.allclose(prob.scores[:, 0], te_nas_scores([block[c].to_numpy() for c in TE_NAS_INPUTS]))
    res = CliRunner().invoke(
        zc_cli(), ["compare", str(path), "az_nas", "te_nas", "--dataset", "cifar10", "--resamples", "50"]
    )
    assert res.exit_code == 0 and "az_nas" in res.output, res.output
    res = CliRunner().invoke(zc_cli(), ["correlate", str(path), "--proxy", "az_nas", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert {r["proxy"] for r in json.loads(res.output)} == {"az_nas"}


def zc_cli():
    from zcbench.cli import main

    return main


def test_every_aggregate_is_a_registered_proxy_with_those_inputs():
    from zcbench.proxies import PROXIES

    for name, agg in AGGREGATES.items():
        assert PROXIES.get(name).inputs == agg.inputs


def test_paper_preset_prints_ours_paper_delta(tmp_path):
    from test_report import write_results

    f = frame()
    path = tmp_path / "r.h5"
    write_results(path, f)
    res = CliRunner().invoke(zc_cli(), ["correlate", str(path), "--paper", "az-nas2024", "--format", "json"])
    assert res.exit_code == 0, res.output
    cells = {(r["table"], r["dataset"], r["proxy"]): r for r in json.loads(res.output)}
    c10 = cells[("nb201-spearman", "cifar10", "az_nas")]
    block = f[f["dataset"] == "cifar10"]
    want = st.spearmanr(az_nas_scores([block[c].to_numpy() for c in AZ_NAS_INPUTS]), block["test_accuracy"])[0]
    assert c10["status"] == "ok" and c10["paper"] == 0.913 and c10["ours"] == pytest.approx(want)
    assert c10["delta"] == pytest.approx(want - 0.913)
    assert cells[("nb201-spearman", "ImageNet16-120", "az_nas")]["status"].startswith("missing")
    assert cells[("nb201-kendall-baselines", "cifar10", "gradsign")]["status"] == "missing: no gradsign scores"
    text = CliRunner().invoke(zc_cli(), ["correlate", str(path), "--paper", "az-nas2024"]).output
    assert "az_nas" in text and "population proxies" in text


def test_proxies_command_says_how_and_over_which_set():
    out = CliRunner().invoke(zc_cli(), ["proxies", "az_nas", "te_nas", "vote"]).output
    assert "computed from az_expressivity, az_progressivity, az_trainability, az_complexity (stored)" in out
    assert "rank(-ntk_cond) + rank(linear_regions)" in out and "within each sample" in out
    assert "Lee & Ham, CVPR 2024" in out and "Chen, Gong & Wang, ICLR 2021" in out
