"""The Python API as a notebook uses it: open a space and its dump, select, score (built-in names and a plain
function), read results, correlate, compare, import published scores, compare with a paper."""

from __future__ import annotations

import json
import math

import nb201_fixtures as NB201
import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

import zcbench as zc
from zcbench.engine.scorer import ArchScorer
from zcbench.errors import UsageError
from zcbench.settings import RunSettings

INDICES = [0, 7, 300, 1234, 5000, 9999]


def relu_count(net: torch.nn.Module, ctx) -> float:
    """A plain-function proxy: how many ReLU modules the network has (module level: workers can import it)."""
    return float(sum(isinstance(m, torch.nn.ReLU) for m in net.modules()))


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    p = tmp_path_factory.mktemp("nb201") / "NAS-Bench-201-v1_1-096897.pth"
    NB201.write_nb201_pth(p, INDICES)
    return p


def test_open_space_reads_the_dump(dump):
    bench = zc.open_space("nb201", dump=dump, dataset="cifar100")
    assert bench.name == "nb201" and bench.dataset == "cifar100" and len(bench.archs()) == len(INDICES)
    df = bench.frame()
    assert list(df["index"]) == INDICES
    val, test = NB201.expected(7, "cifar100")
    row = df[df["index"] == 7].iloc[0]
    assert row["val_accuracy"] == pytest.approx(val) and row["test_accuracy"] == pytest.approx(test)
    assert set(bench.sample(3, seed=1)) <= set(bench.archs())
    assert bench.sample(3, seed=1) == bench.sample(3, seed=1)
    net = bench.build(bench.archs()[0])
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 100)
    with pytest.raises(UsageError, match="larger than the 6 of"):
        bench.sample(7)


def test_notebook_session(dump, tmp_path):
    out = tmp_path / "r.h5"
    bench = zc.open_space("nb201", dump=dump, dataset="cifar10")
    s = zc.score(
        "nb201", ["synflow", "params", relu_count], dataset="cifar10", dump=str(dump), archs=bench.archs(),
        synthetic=True, batch_size=4, out=out, proxy_meta={"images": False},
    )  # fmt: skip
    assert (s.scored, s.proxies) == (len(INDICES), 3)
    df = zc.load_results(out)
    assert {"synflow", "params", "relu_count"} <= set(df.columns) and len(df) == len(INDICES)
    assert df["val_accuracy"].notna().all()
    # the plain function gave what calling it directly gives
    scorer = ArchScorer(RunSettings("nb201", "cifar10", ("params",), synthetic=True).validated())
    for arch, got in zip(df["arch"], df["relu_count"]):
        assert got == relu_count(scorer.make_net(arch)(), None)
    table = zc.correlate(df)
    assert set(table["proxy"]) == {"synflow", "params", "relu_count"}
    want = stats.spearmanr(df["params"], df["val_accuracy"]).statistic
    assert table.set_index("proxy").loc["params", "spearman"] == pytest.approx(want)
    assert "signed" in table.attrs["caption"]
    cmp = zc.compare(df, "synflow", "params", resamples=200)
    assert len(cmp) == 1 and cmp.iloc[0]["verdict"]
    st = zc.status(out)
    assert set(st["proxy"]) == {"synflow", "params", "relu_count"}
    code = dict(zip(st["proxy"], st["code"]))
    assert code["params"].startswith("zcbench ") and code["relu_count"].startswith("plugin ")
    # scoring again resumes; an edited function is a new computation (its code is part of the run key)
    assert zc.score("nb201", [relu_count], dataset="cifar10", dump=str(dump), archs=bench.archs(),
                    synthetic=True, out=out, proxy_meta={"images": False}).scored == 0  # fmt: skip
    with pytest.raises(UsageError, match="unknown proxy"):
        zc.compare(df, "synflow", "nope")


def test_callable_proxy_in_worker_processes(tmp_path):
    archs = zc.open_space("nb201").sample(3, seed=2)
    kw = dict(dataset="cifar10", archs=archs, synthetic=True, proxy_meta={"images": False})
    zc.score("nb201", [relu_count], out=tmp_path / "a.h5", **kw)
    zc.score("nb201", [relu_count], out=tmp_path / "b.h5", execution=zc.Execution(workers=2), **kw)
    a, b = zc.load_results(tmp_path / "a.h5"), zc.load_results(tmp_path / "b.h5")
    assert a.set_index("arch")["relu_count"].to_dict() == b.set_index("arch")["relu_count"].to_dict()


def test_function_defined_in_main_cannot_go_to_workers(tmp_path):
    def local_proxy(net, ctx):
        return 1.0

    with pytest.raises(UsageError, match="module level"):
        zc.score("nb201", [local_proxy], dataset="cifar10", sample=2, synthetic=True, out=tmp_path / "x.h5",
                 execution=zc.Execution(workers=1))  # fmt: skip
    assert not (tmp_path / "x.h5").exists()


def _suite_zero(path, keys_scores: dict[str, tuple[float, float, float]]):
    """A miniature zc_nasbench201.json, published layout: {dataset: {key: {val_accuracy, proxy: {score, time}}}}."""
    data = {
        "cifar10": {
            k: {"val_accuracy": acc, "synflow": {"score": syn, "time": 0.5}, "params": {"score": par, "time": 0.1}}
            for k, (acc, syn, par) in keys_scores.items()
        }
    }
    path.write_text(json.dumps(data))
    return path


def test_import_scores_beside_our_own(tmp_path):
    # NASLib NB201 keys: op indices in NASLib's order (skip, none, conv3, conv1, pool) over edges
    # (1,2),(1,3),(1,4),(2,3),(2,4),(3,4); (2, 2, 2, 2, 2, 2) is the all-conv3x3 cell
    keys = {
        "(2, 2, 2, 2, 2, 2)": (90.0, 40.0, 1.2),
        "(0, 0, 0, 0, 0, 0)": (60.0, 10.0, 0.07),
        "(3, 2, 4, 2, 3, 0)": (80.0, 30.0, 0.6),
    }
    f = _suite_zero(tmp_path / "zc_nasbench201.json", keys)
    out = tmp_path / "r.h5"
    summary = zc.import_scores(f, out)
    assert summary.runs == 2 and summary.archs == 3
    df = zc.load_results(out)
    conv3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert df.set_index("arch").loc[conv3, "synflow@naslib"] == 40.0
    assert df.set_index("arch").loc[conv3, "val_accuracy"] == 90.0
    table = zc.correlate(df, proxies=["*@naslib"])
    want = stats.spearmanr([40.0, 10.0, 30.0], [90.0, 60.0, 80.0]).statistic
    assert table.set_index("proxy").loc["synflow@naslib", "spearman"] == pytest.approx(want)
    assert zc.import_scores(f, out).rows == 6  # importing the same file again changes nothing
    assert len(zc.load_results(out)) == 3
    # our own params next to NASLib's: the agreement report
    zc.score("nb201", ["params"], dataset="cifar10", archs=list(df["arch"]), synthetic=True, out=out)
    agree = zc.agreement(out)
    row = agree.set_index("proxy").loc["params"]
    assert row["n"] == 3 and row["spearman"] == pytest.approx(1.0)
    # the same frame, asked about the imported source by bare names
    src = zc.correlate(out, source="naslib")
    assert set(src["proxy"]) == {"synflow", "params"}
    with pytest.raises(UsageError, match="no imported abdelfattah scores"):
        zc.correlate(out, source="abdelfattah")


def test_compare_paper_with_imported_source(tmp_path):
    rng = np.random.default_rng(0)
    keys = {str(tuple(int(x) for x in rng.integers(0, 5, 6))): (float(a), float(s), float(p))
            for a, s, p in zip(rng.uniform(50, 90, 40), rng.normal(size=40), rng.normal(size=40))}  # fmt: skip
    out = tmp_path / "r.h5"
    zc.import_scores(_suite_zero(tmp_path / "zc_nasbench201.json", keys), out)
    cmp = zc.compare_paper(out, "suite-zero", source="naslib")
    ok = cmp[(cmp["status"] == "ok") & (cmp["proxy"] == "synflow")]
    assert len(ok) == 1 and ok.iloc[0]["dataset"] == "cifar10" and math.isfinite(ok.iloc[0]["ours"])
    assert isinstance(zc.list_proxies("syn*"), pd.DataFrame) and "synflow" in set(zc.list_proxies("syn*")["proxy"])
