"""PRE-NAS on NAS-Bench-201: predictor-evolution on library models, the preset's side-by-side table, a results
file holding only accuracies and ``params``, and CIFAR-10 test accuracies from the dump's ``cifar10`` entry
(miniature dumps in the official format; the real dump is not on this machine)."""

from __future__ import annotations

import json

import nb201_fixtures as NB201
import numpy as np
import pytest
from click.testing import CliRunner

from zcbench.api import search
from zcbench.errors import UsageError
from zcbench.search import SearchProblem, SearchSettings, Variant, resolve_config, run_search
from zcbench.spaces import get_space
from zcbench.store import ResultStore, Row, RunInfo, RunKey

INDICES = list(range(40))  # 7 * i % 40 is a permutation: the fixture's accuracies are distinct


def _cli():
    from zcbench.cli import main

    return main


@pytest.fixture(scope="module")
def dump_and_results(tmp_path_factory):
    """A miniature NB201 v1.1 dump of 40 cells and a results file holding only ``params`` and the dump's
    accuracies (as ``zcbench score --dump ... --proxy params`` writes them) for all three datasets."""
    d = tmp_path_factory.mktemp("prenas")
    dump = d / "NAS-Bench-201-v1_1-096897.pth"
    NB201.write_nb201_pth(dump, INDICES, params_of=lambda arch, ds: (0.1 + len(arch) / 1e3, 10.0))
    sp = get_space("nb201")
    with ResultStore(d / "r.h5") as st:
        for ds in ("cifar10", "cifar100", "ImageNet16-120"):
            rows = [Row(r.index, r.arch, r.extra["params"], 0.0, r.val_accuracy, r.test_accuracy)
                    for r in sp.load_dump(dump, ds).records]  # fmt: skip
            st.append(RunKey("nb201", ds, "params", data_free=True), RunInfo(), rows)
    return dump, d / "r.h5"


SMALL = ["--budget", "12", "--rounds", "3", "--population", "4", "--sample", "2", "--candidates", "8",
         "--offspring", "3", "--min-train", "4"]  # fmt: skip


def test_cifar10_test_accuracy_from_the_cifar10_entry(dump_and_results):
    """With --dump the incumbent's CIFAR-10 test accuracy is the ``cifar10`` entry's (train+valid: seeds 777 and
    888 in the fixture, +0.75), not the ``cifar10-valid`` entry's the results file holds (+0.8)."""
    dump, results = dump_and_results
    args = ["search", str(results), "--dataset", "cifar10", "--proxy", "params", "--algo", "random", *SMALL]
    plain = CliRunner().invoke(_cli(), [*args, "--format", "json"])
    paper = CliRunner().invoke(_cli(), [*args, "--format", "json", "--dump", str(dump)])
    assert plain.exit_code == 0 and paper.exit_code == 0, plain.output + paper.output
    assert "give --dump for the cifar10 entry" in plain.stderr and "note" not in paper.stderr
    a, b = json.loads(plain.stdout)[0], json.loads(paper.stdout)[0]
    assert a["final_val"] == b["final_val"]  # the same incumbents: validation comes from cifar10-valid in both
    assert b["final_test"] == pytest.approx(a["final_test"] - 0.05)
    rep = search(str(results), dataset=["cifar10"], proxy=["params"], algo=["random"], budget=40, rounds=1,
                 dump=str(dump))  # fmt: skip
    best = max(INDICES, key=lambda i: NB201.expected(i, "cifar10")[0])
    assert rep.table["final_val"].iloc[0] == pytest.approx(NB201.expected(best, "cifar10")[0])
    assert rep.table["final_test"].iloc[0] == pytest.approx(NB201.expected(best, "cifar10")[1] - 0.05)
    assert "test: NB201's cifar10 entry (train+valid)" in rep.caption


def test_a_dump_that_is_not_the_results_ones_is_refused(dump_and_results, tmp_path):
    dump, results = dump_and_results
    other = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    NB201.write_nb201_pth(other, [i + 40 for i in INDICES], params_of=lambda arch, ds: (0.1, 10.0))
    res = CliRunner().invoke(_cli(), ["search", str(results), "--dataset", "cifar100", "--proxy", "params",
                                      "--algo", "random", *SMALL, "--dump", str(other)])  # fmt: skip
    assert res.exit_code == 2 and "are not in this dump" in res.stderr and len(res.stderr.splitlines()) == 1


@pytest.mark.slow
def test_prenas_preset_side_by_side_on_a_params_only_file(dump_and_results, tmp_path):
    """The preset on every NB201 dataset: random, ae and predictor-evolution[rf,encoding] per dataset, the
    published val/test beside the predictor-evolution rows only, JSON rows naming the variant."""
    dump, results = dump_and_results
    res = CliRunner().invoke(
        _cli(),
        ["search", str(results), "--config", "prenas2022-nb201", *SMALL, "--dump", str(dump), "--format", "json",
         "--curves", str(tmp_path / "c.csv"), "--plot", str(tmp_path / "c.png")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["dataset"], r["variant"]) for r in rows] == [
        (ds, v)
        for ds in ("cifar10", "cifar100", "ImageNet16-120")
        for v in ("random", "ae", "predictor-evolution[rf,encoding]")
    ]
    for r in rows:
        assert {"final_val", "final_test", "std_test", "std_val"} <= set(r) and r["rounds"] == 3
        pe = r["variant"].startswith("predictor-evolution")
        assert (r["paper_test"] is not None) == pe and (r["paper_val"] is not None) == pe
    pe = {r["dataset"]: r for r in rows if r["paper_test"] is not None}
    assert (pe["cifar10"]["paper_test"], pe["cifar10"]["paper_val"]) == (94.04, 91.37)
    assert (pe["cifar100"]["paper_test"], pe["ImageNet16-120"]["paper_val"]) == (72.02, 45.16)
    assert pe["cifar100"]["delta_test"] == pytest.approx(pe["cifar100"]["final_test"] - 72.02)
    assert (tmp_path / "c.png").stat().st_size > 1000 and "dataset,variant,n" in (tmp_path / "c.csv").read_text()


def test_prenas_preset_settings():
    cfg = resolve_config("prenas2022-nb201", {})
    assert cfg["dataset"] == ["cifar10", "cifar100", "ImageNet16-120"] and cfg["budget"] == 100
    assert cfg["rounds"] >= 20 and cfg["algo"] == ["random", "ae", "predictor-evolution"]
    assert (cfg["model"], cfg["features"], cfg["proxy"]) == ("rf", "encoding", ["params"])


def test_predictor_evolution_trains_the_predicted_best_offspring():
    """A predictor that sees the accuracy itself (features zc, a perfect proxy, ridge on ranks) and explore 0:
    every generation trains the best of its candidates, so it ends far above aging evolution."""
    sp = get_space("nb201")
    archs = sp.enumerate()
    x = np.vstack([sp.encode(a) for a in archs])
    rng = np.random.default_rng(3)
    val = 70 + x @ rng.normal(0, 1, 30) + rng.normal(0, 0.3, len(archs))
    p = SearchProblem(sp, archs, val, val, val[:, None], ["oracle"])
    base = dict(population=8, sample=3, candidates=40, offspring=4, min_train=8)
    pe = SearchSettings(model="ridge", features="zc", explore=0.0, **base)
    res = run_search(p, [Variant("pe", "predictor-evolution", pe), Variant("ae", "ae", SearchSettings(**base))], 40, 4)
    assert res["pe"].val[:, -1].mean() > res["ae"].val[:, -1].mean() + 0.5
    ranks = [(val > v).sum() for v in res["pe"].val[:, -1]]
    assert max(ranks) < 200  # top 1.3 % of 15,625 every round with 40 trained


@pytest.mark.parametrize(
    "given, needle",
    [
        ({"model": "forest"}, "unknown predictor model 'forest'"),
        ({"features": "graph"}, "features must be one of"),
        ({"explore": 2.0}, "explore (--explore) must be between 0 and 1"),
        ({"offspring": 0}, "offspring (--offspring) must be at least 1"),
        ({"published": {"cifar10": {"test": "high"}}}, "published cifar10 test must be a number"),
        ({"bogus": 1}, "unknown search setting"),
    ],
)
def test_bad_predictor_settings_refused_before_reading(given, needle, tmp_path):
    with pytest.raises(UsageError) as err:
        search(str(tmp_path / "missing.h5"), proxy=["params"], **given)  # checked before the file is opened
    assert needle in str(err.value)


# Computed by zcbench before predictor-evolution moved to library models (main at the commit this branch
# started from, 0d219dc: ``PYTHONPATH=<old checkout> python`` with the problem below): the other algorithms
# must train the same architectures in the same order.
BEFORE = {
    "random": [[10481, 12578, 353, 12624, 7325, 8051], 216.4354715491794, [204880, 268515, 249440]],
    "random+w": [[13164, 8126, 4106, 14489, 4368, 7865], 222.19636526087086, [190951, 171466, 206693]],
    "ae": [[9841, 8046, 842, 2047, 7320, 12566], 218.1735037327141, [184744, 213101, 271471]],
    "ae+m": [[9841, 8046, 842, 2047, 7320, 12566], 218.16991911549525, [219969, 231281, 221512]],
    "pe-proxy": [[641, 6912, 3785, 6918, 4036, 663], 224.63091740078056, [143148, 197234, 188530]],
}


def test_random_ae_and_proxy_evolution_unchanged():
    sp = get_space("nb201")
    archs = sp.enumerate()
    rng = np.random.default_rng(11)
    x = np.vstack([sp.encode(a) for a in archs])
    val = 70 + x @ rng.normal(0, 1, 30) + rng.normal(0, 0.3, len(archs))
    proxy = val + rng.normal(0, 2, len(archs))
    p = SearchProblem(sp, archs, val, val + 0.1, proxy[:, None], ["p"])
    evo = {"population": 16, "sample": 4}
    runs = [("random", "random", {}), ("random+w", "random", {"warmup": 500}), ("ae", "ae", evo),
            ("ae+m", "ae", {**evo, "move": 0.5}), ("pe-proxy", "proxy-evolution", {**evo, "cycles": 200})]  # fmt: skip
    for name, algo, kw in runs:
        r = run_search(p, [Variant(name, algo, SearchSettings(**kw))], 30, 3, 5)[name]
        got = [r.trained[0][:6], float(r.val[:, -1].sum()), [int(sum(t)) for t in r.trained]]
        assert got == BEFORE[name], name


def test_every_nb201_format_keeps_the_cifar10_entrys_test_accuracy(tmp_path):
    """v1.0/v1.1 .pth and both NATS formats: ``extra['trainval_test_accuracy']`` is the seed mean of the
    ``cifar10`` entry's ori-test (fixture seeds 777, 888), only for CIFAR-10; ``search_accuracies`` uses it."""
    cheap = {"params_of": lambda arch, ds: (0.1, 10.0)}
    files = {
        "v1_1.pth": lambda p: NB201.write_nb201_pth(p, [3, 9], **cheap),
        "v1_0.pth": lambda p: NB201.write_nb201_pth(p, [3, 9], v1_0=True, **cheap),
        "nats.pickle.pbz2": lambda p: NB201.write_nats_single(p, [3, 9], **cheap),
        "nats-simple": lambda p: NB201.write_nats_simple(p, [3, 9], **cheap),
    }
    sp = get_space("nb201")
    for name, write in files.items():
        write(tmp_path / name)
        bench = sp.load_dump(tmp_path / name, "cifar10", use_cache=False)
        want = {i: np.mean([NB201.acc_value(i, "cifar10", "ori-test", s, 200) for s in (777, 888)]) for i in (3, 9)}
        got = {r.index: r.extra["trainval_test_accuracy"] for r in bench.records}
        assert got == pytest.approx(want), name
        acc = sp.search_accuracies(bench)
        assert [acc[r.arch] for r in bench.records] == [(r.val_accuracy, want[r.index]) for r in bench.records]
        other = sp.load_dump(tmp_path / name, "cifar100", use_cache=False)
        assert all("trainval_test_accuracy" not in r.extra for r in other.records)
        assert sp.search_accuracies(other) == {r.arch: (r.val_accuracy, r.test_accuracy) for r in other.records}
