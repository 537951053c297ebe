"""Zero-cost search: mutation operators, the algorithms on a synthetic NB201 problem, the speed-up
table, and ``zcbench search`` end to end on a small results file."""

from __future__ import annotations

import csv
import io
import json
import random

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from zcbench.errors import UsageError
from zcbench.predictors.features import rank_standardise
from zcbench.search import (
    ALGORITHMS,
    RoundsResult,
    SearchProblem,
    SearchSettings,
    TrainedCounter,
    Variant,
    curves_frame,
    first_reach,
    make_variants,
    run_search,
    speedup_table,
)
from zcbench.search.algorithms import stratified_pick
from zcbench.spaces import get_space
from zcbench.spaces.nb201 import OPS, parse_arch_string


# -- neighbours ----------------------------------------------------------------------------------
def _edges(arch: str) -> list[str]:
    return [op for node in parse_arch_string(arch) for op, _ in node]


def test_nb201_neighbours_24_one_edge_each_and_symmetric():
    sp = get_space("nb201")
    for arch in random.Random(0).sample(sp.enumerate(), 20):
        nb = sp.neighbours(arch)
        assert len(nb) == 24 and len(set(nb)) == 24 and arch not in nb
        for n in nb:
            assert sp.parse(n) == n
            assert sum(a != b for a, b in zip(_edges(arch), _edges(n))) == 1
            assert arch in sp.neighbours(n)
        # every (edge, other op) pair appears exactly once
        changes = {(k, _edges(n)[k]) for n in nb for k in range(6) if _edges(n)[k] != _edges(arch)[k]}
        assert changes == {(k, op) for k in range(6) for op in OPS if op != _edges(arch)[k]}


def test_tnb101_micro_neighbours():
    sp = get_space("tnb101_micro")
    for arch in random.Random(1).sample(sp.enumerate(), 15):
        nb = sp.neighbours(arch)
        assert len(nb) == 18 and len(set(nb)) == 18 and arch not in nb
        for n in nb:
            assert sp.parse(n) == n
            assert sum(a != b for a, b in zip(arch, n)) == 1
            assert arch in sp.neighbours(n)


def test_tnb101_macro_neighbours_valid_and_symmetric():
    sp = get_space("tnb101_macro")
    space = set(sp.enumerate())
    for arch in random.Random(2).sample(sorted(space), 25):
        nb = sp.neighbours(arch)
        assert nb and len(set(nb)) == len(nb) and arch not in nb
        for n in nb:
            assert sp.parse(n) == n and n in space
            assert abs(len(n) - len(arch)) <= 1
            assert arch in sp.neighbours(n)
    # by hand: 64-1234-basic. Substitutions that keep 1-4 down (3/4) and 1-3 wide (2/4): 1->2,3,4 (3);
    # 2->1? wide 4 left (ok), 2->3 ok, 2->4 ok (3); 3->1,2 leave down=1 via 4 (ok), 3->4 ok (3);
    # 4->1 (down 1 via 3, wide 1 via 2: ok), 4->2, 4->3 (3) = 12, all distinct.
    subs = [n for n in sp.neighbours("64-1234-basic") if len(n) == len("64-1234-basic")]
    assert len(subs) == 12


def test_nb101_neighbours_by_hand():
    sp = get_space("nb101")
    conv3, conv1, pool = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
    spec = lambda m, o: json.dumps({"matrix": m, "ops": o}, separators=(",", ":"))  # noqa: E731
    chain = spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", conv3, "output"])
    # edge flips: drop 0->1 or 1->2 disconnect (invalid); add 0->2 (new) -> 1; ops: 2.
    # a new vertex X fed by an earlier and feeding a later one: in->X->conv, in->X->out (placed before
    # or after conv: one graph up to isomorphism), conv->X->out: 3 shapes x 3 ops = 9; removing conv
    # disconnects. 1 + 2 + 9 = 12
    nb = sp.neighbours(chain)
    assert len(nb) == 12 and sum(len(json.loads(n)["ops"]) == 4 for n in nb) == 9
    assert spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", conv3, "output"]) in nb
    assert spec([[0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", conv3, pool, "output"]) in nb
    skip = spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", conv3, "output"])
    # drop 0->1 and drop 1->2 both prune the conv vertex (same graph: input->output, counted once),
    # drop 0->2 gives the chain; ops: 2; new vertex: the same 3 shapes x 3 ops = 9; removing conv
    # gives input->output again. 2 + 2 + 9 = 13
    nb = sp.neighbours(skip)
    assert len(nb) == 13 and len(set(nb)) == 13 and skip not in nb
    assert chain in nb and spec([[0, 1], [0, 0]], ["input", "output"]) in nb
    for n in nb:
        assert sp.parse(n) == n
    # a full 7-vertex, 9-edge cell: adding any edge exceeds 9 edges, so only removals and op changes
    m = [
        [0, 1, 1, 1, 0, 0, 0],
        [0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ]
    m[0][6] = 1  # 9 edges
    big = spec(m, ["input", conv3, conv1, pool, conv3, conv1, "output"])
    nb = sp.neighbours(big)
    for n in nb:
        pm = json.loads(n)["matrix"]
        assert sp.parse(n) == n and sum(map(sum, pm)) <= 9 and n != big
    assert len(set(nb)) == len(nb) and len(nb) >= 10  # 5 interior vertices x 2 ops alone give 10
    assert all(len(json.loads(n)["ops"]) <= 7 for n in nb)  # no vertex can be added to a 7-vertex cell


def test_nb101_moves_reach_larger_cells():
    """From a 3-vertex chain, repeated single moves reach every cell size up to 7 vertices (the pruned
    spec alone could never grow without the vertex moves)."""
    sp = get_space("nb101")
    start = json.dumps(
        {"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3-bn-relu", "output"]},
        separators=(",", ":"),
    )
    size = lambda a: len(json.loads(a)["ops"])  # noqa: E731
    edges = lambda a: sum(map(sum, json.loads(a)["matrix"]))  # noqa: E731
    path = [start]
    while size(path[-1]) < 7 and len(path) < 12:
        nb = sp.neighbours(path[-1])
        grow = [n for n in nb if size(n) == size(path[-1]) + 1]  # a vertex with 2 new edges
        # ... fewest edges first; at the 9-edge limit, first drop an edge keeping the size
        step = (
            min(grow, key=edges)
            if grow and edges(path[-1]) <= 7
            else min((n for n in nb if size(n) == size(path[-1])), key=edges)
        )
        path.append(step)
    assert size(path[-1]) == 7 and len(path) <= 12
    for a, b in zip(path, path[1:]):
        if size(b) == size(a) + 1:  # a vertex addition is undone by removing that vertex
            assert a in sp.neighbours(b)


def test_nb101_problem_finds_isomorphic_spellings():
    """A neighbour spelled in another vertex order than the domain's copy is found by module hash."""
    conv3, conv1, pool = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
    par = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    spec = lambda o: json.dumps({"matrix": par, "ops": ["input", *o, "output"]}, separators=(",", ":"))  # noqa: E731
    parent, swapped = spec([conv3, pool]), spec([conv1, conv3])  # swapped ~ the neighbour [conv3, conv1]
    assert spec([conv3, conv1]) in get_space("nb101").neighbours(parent)
    prob = SearchProblem(get_space("nb101"), [parent, swapped], [1.0, 2.0], [1.0, 2.0], [[0.0], [1.0]], ["p"])
    assert prob.neighbours(0).tolist() == [1]


def test_space_without_mutation_refuses():
    with pytest.raises(UsageError, match="no mutation operator"):
        get_space("nb301").neighbours("anything")


def test_encodings_shapes():
    assert get_space("nb201").encode(get_space("nb201").enumerate()[5]).sum() == 6
    micro = get_space("tnb101_micro").encode("64-41414-0_12_333")
    assert micro.reshape(6, 4).argmax(1).tolist() == [0, 1, 2, 3, 3, 3]
    normal, reduce = [("sep_conv_3x3", 0), ("skip_connect", 1)] * 4, [("max_pool_3x3", 1), ("max_pool_3x3", 0)] * 4
    g = f"Genotype(normal={normal}, normal_concat=[2, 3, 4, 5], reduce={reduce}, reduce_concat=[2, 3, 4, 5])"
    darts = get_space("nb301").encode(get_space("nb301").parse(g)).reshape(2, 14, 8)
    assert darts.sum() == 16 and darts[0, 0, 4] == 1 and darts[0, 1, 3] == 1  # node 2: sep_conv from 0, skip from 1
    assert darts[0, 2:5].sum() == 2 and darts[1, 0, 1] == darts[1, 1, 1] == 1  # node 3 reads 0 and 1 (edges 2, 3)
    swapped = g.replace("('max_pool_3x3', 1), ('max_pool_3x3', 0)", "('max_pool_3x3', 0), ('max_pool_3x3', 1)")
    assert np.array_equal(get_space("nb301").encode(get_space("nb301").parse(swapped)).reshape(2, 14, 8), darts)
    macro = get_space("tnb101_macro").encode("64-41234-basic").reshape(6, 5)
    assert macro.argmax(1).tolist() == [4, 1, 2, 3, 4, 0] and macro.sum() == 6  # slot 6 empty
    e = get_space("nb101").encode(
        json.dumps({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "maxpool3x3", "output"]})
    )
    assert e.shape == (21 + 15,) and e[:21].sum() == 2 and e[21:].sum() == 1


# -- a synthetic NB201 problem ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth():
    """All 15,625 cells; val = additive edge/op effects + pairwise interactions + noise (a known
    function of the arch); test = val + small noise."""
    sp = get_space("nb201")
    archs = sp.enumerate()
    rng = np.random.default_rng(7)
    x = np.vstack([sp.encode(a) for a in archs])
    w, pair = rng.normal(0, 1.0, 30), np.triu(rng.normal(0, 0.4, (30, 30)), 1)
    val = 70 + x @ w + np.einsum("ni,ij,nj->n", x, pair, x) + rng.normal(0, 0.3, len(archs))
    test = val + rng.normal(0, 0.2, len(archs))

    def make(proxy: np.ndarray) -> SearchProblem:
        return SearchProblem(sp, archs, val, test, np.asarray(proxy, float)[:, None], ["p"])

    return {
        "val": val,
        "test": test,
        "make": make,
        "rng": rng,
        "perfect": make(val.copy()),
        "useless": make(rng.normal(size=len(archs))),
    }


def _final(problem, name, algo, settings, budget=40, rounds=6):
    r = run_search(problem, [Variant(name, algo, settings)], budget, rounds, seed=0)[name]
    return r.val[:, -1].mean()


def test_counter_counts_distinct_and_enforces_budget(synth):
    c = TrainedCounter(synth["perfect"], 3)
    assert c.train(5) == synth["val"][5]
    c.train(5)
    c.train(9)
    assert len(c.order) == 2 and not c.done
    c.train(1)
    assert c.done and c.train(9) == synth["val"][9]  # re-reading is free, even at the budget
    with pytest.raises(RuntimeError):
        c.train(2)
    best = max([5, 9, 1][:2], key=lambda i: synth["val"][i])
    assert c.history_test[1] == synth["test"][best]


def test_counter_counting_repeats_and_best_test(synth):
    """With ``count_repeats`` (the notebook's count) a repeated query costs a trained model; the
    best-test curve is the running maximum of test accuracy, never below the incumbent's."""
    c = TrainedCounter(synth["perfect"], 3, count_repeats=True)
    for i in (5, 5, 9):
        c.train(i)
    assert c.order == [5, 5, 9] and c.done
    with pytest.raises(RuntimeError):
        c.train(5)
    t = synth["test"]
    assert c.history_best_test == [t[5], t[5], max(t[5], t[9])]
    sp = get_space("nb201")
    tiny = SearchProblem(sp, sp.enumerate()[:3], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [[0.0], [1.0], [2.0]], ["p"])
    for repeats, want in ((True, {0, 1, 2}), (False, {2})):
        k = TrainedCounter(tiny, 3, count_repeats=repeats)
        k.train(0), k.train(1)
        assert {k.draw(np.random.default_rng(r)) for r in range(50)} == want  # with / without replacement
    plain = TrainedCounter(synth["perfect"], 40)
    rng = np.random.default_rng(0)
    while not plain.done:
        plain.train(plain.draw(rng))
    assert np.all(np.array(plain.history_best_test) >= np.array(plain.history_test))
    assert plain.history_best_test[-1] == max(t[plain.order])


def test_notebook_protocol_counts_queries(synth):
    """AE with the notebook's count re-queries known children, so it trains fewer distinct archs."""
    s = SearchSettings(population=8, sample=3, move=1.0, count_repeats=True)
    c = ALGORITHMS.get("ae").fn(synth["perfect"], 60, np.random.default_rng(0), s)
    assert len(c.order) == 60 and len(set(c.order)) < 60


@pytest.mark.parametrize("algo", ALGORITHMS.names())
def test_every_algorithm_trains_exactly_budget_distinct(synth, algo):
    s = SearchSettings(population=8, sample=3, warmup=50, move=0.5, cycles=30, candidates=5, min_train=5)
    for seed in (0, 1):
        c = ALGORITHMS.get(algo).fn(synth["useless"], 25, np.random.default_rng(seed), s)
        assert len(c.order) == 25 == len(set(c.order)) == len(c.history_val)
        assert np.all(np.diff(c.history_val) >= 0)
        assert c.history_val[-1] == max(synth["val"][c.order])


def test_proxy_evolution_trains_budget_even_when_few_visited(synth):
    s = SearchSettings(population=4, sample=2, cycles=3)  # at most 7 visited
    c = ALGORITHMS.get("proxy-evolution").fn(synth["perfect"], 30, np.random.default_rng(0), s)
    assert len(set(c.order)) == 30
    # the visited ones come first, best proxy first
    head = c.order[:5]
    assert list(synth["val"][head]) == sorted(synth["val"][head], reverse=True)


def test_random_search_ignores_the_proxy(synth):
    s = SearchSettings()
    a = ALGORITHMS.get("random").fn(synth["perfect"], 50, np.random.default_rng(3), s)
    b = ALGORITHMS.get("random").fn(synth["useless"], 50, np.random.default_rng(3), s)
    assert a.order == b.order


def test_warmup_with_perfect_proxy_trains_the_global_best_first(synth):
    p = synth["perfect"]
    s = SearchSettings(warmup=len(p))
    for algo in ("random", "ae"):
        c = ALGORITHMS.get(algo).fn(p, 10, np.random.default_rng(0), s)
        best = int(np.argmax(synth["val"]))
        assert c.order[0] == best and c.history_test[0] == synth["test"][best]


def test_nan_proxy_ranks_last(synth):
    proxy = synth["val"].copy()
    proxy[[0, 1]] = np.nan
    p = synth["make"](proxy)
    order = p.by_proxy([0, 1, int(np.argmax(proxy[2:])) + 2])
    assert order[0] not in (0, 1) and list(order[1:]) == [0, 1]


def test_move_proposal_helps_with_a_good_proxy_only(synth):
    s = SearchSettings(population=16, sample=4)
    move = SearchSettings(population=16, sample=4, move=1.0)
    plain = _final(synth["perfect"], "ae", "ae", s)
    good = _final(synth["perfect"], "ae+move", "ae", move)
    bad = _final(synth["useless"], "ae+move", "ae", move)
    assert good > plain + 1.0
    assert bad < plain + 0.5 and good > bad + 1.0


def test_predictor_evolution_beats_random_search(synth):
    s = SearchSettings(population=16, sample=4)
    pred = _final(synth["perfect"], "pe", "predictor-evolution", s)
    rand = _final(synth["perfect"], "r", "random", s)
    assert pred > rand + 0.8


def test_rank_standardise_and_stratified_pick():
    z = rank_standardise(np.array([[3.0], [np.nan], [1.0], [2.0]]))
    assert z[:, 0].argsort().tolist() == [1, 2, 3, 0] and z.mean() == pytest.approx(0.0)
    pred = np.arange(10.0)[::-1]  # position i predicted 9 - i: best first
    rng = np.random.default_rng(0)
    assert stratified_pick(pred, 3, 0.0, rng) == [0, 1, 2]  # greedy: the 3 best predicted
    for _ in range(20):  # 2 best, then one from each of 2 equal strata of the remaining 8 (positions 2-5, 6-9)
        got = stratified_pick(pred, 4, 0.5, rng)
        assert got[:2] == [0, 1] and 2 <= got[2] <= 5 and 6 <= got[3] <= 9
    assert sorted(stratified_pick(pred, 12, 0.0, rng)) == list(range(10))  # never more than there are


# -- speed-up --------------------------------------------------------------------------------------
def test_curves_monotone_and_variants(synth):
    vs = make_variants(["random", "ae"], SearchSettings(population=8, sample=3, warmup=200, move=0.75))
    assert [v.name for v in vs] == [
        "random",
        "random+warmup200",
        "ae",
        "ae+warmup200",
        "ae+move0.75",
        "ae+warmup200+move0.75",
    ]
    res = run_search(synth["perfect"], vs, 30, 3, seed=5)
    cf = curves_frame(res)
    assert len(cf) == 6 * 30
    for r in res.values():
        assert r.val.shape == (3, 30)
        assert np.all(np.diff(r.mean("val")) >= 0)
        # the test curve is the test accuracy of the val incumbent
        for rr in range(3):
            ids = r.trained[rr]
            inc = [ids[int(np.argmax(synth["val"][ids[:n]]))] for n in range(1, 31)]
            assert np.allclose(r.test[rr], synth["test"][inc])
    again = run_search(synth["perfect"], vs[:2], 30, 3, seed=5)
    assert np.array_equal(again["random+warmup200"].test, res["random+warmup200"].test)


def test_search_rounds_bar(synth, monkeypatch, capsys):
    """One tick per round × variant on stderr when bars are on; the numbers do not change."""
    vs = make_variants(["random", "ae"], SearchSettings(population=8, sample=3))
    monkeypatch.setenv("ZCBENCH_PROGRESS", "0")
    quiet = run_search(synth["perfect"], vs, 12, 2, seed=3)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("ZCBENCH_PROGRESS", "1")
    shown = run_search(synth["perfect"], vs, 12, 2, seed=3)
    err = capsys.readouterr().err
    assert "search:" in err and "0/4 [" in err  # total = rounds × variants (fast updates are not redrawn)
    for name in quiet:
        assert np.array_equal(quiet[name].test, shown[name].test) and quiet[name].trained == shown[name].trained


def _toy(name, algo, curves):
    arr = np.asarray(curves, float)
    return RoundsResult(Variant(name, algo, SearchSettings()), arr, arr, [])


def test_speedup_by_hand():
    base = _toy("random", "random", [[60, 61, 62, 63, 64, 65], [60, 60, 62, 64, 64, 67]])  # mean ends 66
    fast = _toy("random+warmup9", "random", [[64, 66, 67, 67, 67, 67], [62, 66, 66, 66, 68, 68]])  # 63,66,...
    slow = _toy("ae", "ae", [[50, 50, 50, 50, 50, 55]] * 2)
    res = {"random": base, "random+warmup9": fast, "ae": slow}
    tab = speedup_table(res, {"random": "random", "random+warmup9": "random", "ae": "random"}).set_index("variant")
    assert tab.loc["random", "final_test"] == pytest.approx(66.0)
    assert tab.loc["random", "models_to_baseline"] == 6 and tab.loc["random", "speedup"] == pytest.approx(1.0)
    assert tab.loc["random+warmup9", "models_to_baseline"] == 2  # mean curve 63, 66, ...
    assert tab.loc["random+warmup9", "speedup"] == pytest.approx(3.0)
    assert tab.loc["ae", "models_to_baseline"] == "—" and np.isnan(tab.loc["ae", "speedup"])
    assert first_reach(np.array([1.0, 2.0, 3.0]), 2.5) == 3 and first_reach(np.array([1.0]), float("nan")) is None


# -- CLI -------------------------------------------------------------------------------------------
def _cli():
    from zcbench.cli import main

    return main


@pytest.fixture(scope="module")
def results_file(tmp_path_factory):
    """729 NB201 cells (ops none/skip/conv3x3 on every edge: closed under most mutations) with
    synflow = val + noise, plus an nb301 block (a space without a mutation operator)."""
    from zcbench.store import ResultStore, Row, RunInfo, RunKey

    path = tmp_path_factory.mktemp("search") / "res.h5"
    keep = {"none", "skip_connect", "nor_conv_3x3"}
    archs = [a for a in get_space("nb201").enumerate() if set(_edges(a)) <= keep]
    rng = np.random.default_rng(0)
    val = np.array([10.0 * _edges(a).count("nor_conv_3x3") + rng.normal() for a in archs])
    syn = val + rng.normal(0, 3, len(val))
    with ResultStore(path) as st:
        key = RunKey("nb201", "cifar100", "synflow", data_free=True)
        st.append(
            key,
            RunInfo(),
            [Row(i, a, float(s), 0.01, float(v), float(v) - 1.0) for i, (a, s, v) in enumerate(zip(archs, syn, val))],
        )
        key = RunKey("nb301", "cifar10", "synflow", data_free=True)
        st.append(key, RunInfo(), [Row(i, f"cell{i}", float(i), 0.01, float(i), float(i)) for i in range(50)])
    return path


ARGS = ["--space", "nb201", "--dataset", "cifar100", "--proxy", "synflow", "--population", "8", "--sample", "3"]


def test_cli_search_table_curves_and_config(results_file, tmp_path):
    curves = tmp_path / "curves.csv"
    res = CliRunner().invoke(
        _cli(),
        [
            "search",
            str(results_file),
            *ARGS,
            "--algo",
            "random",
            "--algo",
            "ae",
            "--warmup",
            "100",
            "--move",
            "0.75",
            "--budget",
            "20",
            "--rounds",
            "3",
            "--curves",
            str(curves),
            "--plot",
            str(tmp_path / "curves.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "curves.png").stat().st_size > 1000
    for name in ("random+warmup100", "ae+warmup100+move0.75", "ae+move0.75"):
        assert name in res.output
    assert "729 architectures" in res.output and "validation accuracy" in res.output
    cf = pd.read_csv(curves)
    assert len(cf) == 6 * 20 and set(cf["variant"]) >= {"random", "ae+warmup100"}
    res = CliRunner().invoke(
        _cli(),
        [
            "search",
            str(results_file),
            *ARGS,
            "--algo",
            "ae*",
            "--algo",
            "proxy-evolution",
            "--budget",
            "15",
            "--rounds",
            "2",
            "--format",
            "csv",
            "--baseline",
            "ae",
            "--cycles",
            "50",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["variant"] for r in rows] == ["ae", "proxy-evolution"]
    assert all(r["baseline"] == "ae" for r in rows)
    for r in rows:
        assert 0 < float(r["final_test"]) < 100
    res = CliRunner().invoke(
        _cli(),
        [
            "search",
            str(results_file),
            *ARGS,
            "--algo",
            "ae",
            "--move",
            "1",
            "--budget",
            "15",
            "--rounds",
            "2",
            "--count",
            "queries",
            "--report",
            "best-test",
            "--format",
            "csv",
            "--curves",
            str(curves),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["variant"] for r in rows] == ["ae", "ae+move1"] and "final_best_test" in rows[0]
    cf = pd.read_csv(curves)
    assert (cf["mean_best_test"] >= cf["mean_test"] - 1e-9).all()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "space: nb201\ndataset: cifar100\nproxy: synflow\nalgo: [random]\nwarmup: 50\nbudget: 400\nrounds: 2\n"
    )
    res = CliRunner().invoke(
        _cli(), ["search", str(results_file), "--config", str(cfg), "--budget", "10", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    recs = json.loads(res.stdout)
    assert [r["variant"] for r in recs] == ["random", "random+warmup50"] and recs[0]["budget"] == 10


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--dataset", "cifar10"], "no rows for nb201/cifar10"),
        (["--proxy", "snip"], "proxy 'snip'"),
        (["--warmup", "1000"], "warm-up pool of 1000"),
        (["--budget", "1000"], "budget of 1000"),
        (["--algo", "nope"], "unknown search algorithm"),
        (["--space", "nb301", "--dataset", "cifar10", "--algo", "ae"], "no mutation operator"),
        (["--config", "missing.yaml"], "does not exist"),
    ],
)
def test_cli_bad_inputs_one_line_exit_2(results_file, extra, needle):
    base = ARGS if "--dataset" not in extra else [a for a in ARGS if a not in ("--dataset", "cifar100")]
    args = ["search", str(results_file), *base, "--budget", "5", "--rounds", "1", *extra]
    res = CliRunner().invoke(_cli(), args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and len(res.stderr.strip().splitlines()) == 1
    assert needle in res.stderr


def test_cli_bad_config_value_one_line(results_file, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("report: oracle\n")
    res = CliRunner().invoke(_cli(), ["search", str(results_file), *ARGS, "--config", str(cfg)])
    assert res.exit_code == 2 and "report must be one of incumbent, best-test, val" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_cli_missing_results_file(tmp_path):
    res = CliRunner().invoke(_cli(), ["search", str(tmp_path / "nope.h5"), *ARGS])
    assert res.exit_code == 2 and "no such results file" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_search_without_test_accuracies_says_so_and_writes_no_inf(tmp_path):
    """#19 §9: a results file with validation accuracies only (an imported Suite-Zero file) is refused for a
    test-accuracy report with a hint, and --report val writes curves without -inf and without numpy warnings."""
    import docs_fixtures as DF

    from zcbench.cli import main
    from zcbench.spaces import get_space

    archs = get_space("nb201").sample(30, 1)
    suite = DF.write_suite_zero(tmp_path / "zc_nasbench201.json", [DF.naslib_nb201_key(a) for a in archs], ("cifar10",))
    out = tmp_path / "r.h5"
    assert CliRunner().invoke(main, ["import", "naslib", str(suite), "--out", str(out)]).exit_code == 0
    base = ["search", str(out), "--proxy", "synflow@naslib", "--budget", "8", "--rounds", "2"]
    res = CliRunner().invoke(main, [*base, "--curves", str(tmp_path / "c.csv")])
    assert res.exit_code == 2 and "no test accuracies" in res.stderr and "--report val" in res.stderr
    assert not (tmp_path / "c.csv").exists()
    res = CliRunner().invoke(main, [*base, "--report", "val", "--curves", str(tmp_path / "c.csv")])
    assert res.exit_code == 0, res.output
    assert "inf" not in (tmp_path / "c.csv").read_text()
    assert "Warning" not in res.stderr and "no test accuracies" in res.stdout
