"""Numbers you can trust, through the CLI on miniature official-format dumps.

§1: a run's identity holds everything that changes a stored value — a changed setting is refused in
one line or scored as a separate run, never served from (or mixed into) another run's cache; a run
never holds an architecture twice; ``--retry-failed`` re-scores only the failures.
§2: bad input is refused before any work, in one line with exit status 2, and leaves nothing behind.

Every test here drives the CLI only (plus h5py to look inside the file), so it also runs against an
older checkout (``PYTHONPATH=<old> pytest tests/test_trust.py``) to show what it guards against.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import h5py
import nb201_fixtures as F
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from zcbench.cli import main
from zcbench.settings import RunSettings

IDX = [0, 7, 300]
SPACE_SIZE = 15625


# -- helpers ------------------------------------------------------------------------------------------
def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(res):
    assert res.exit_code == 0, f"exit {res.exit_code}: {res.output}{res.stderr}{res.exception!r}"
    return res


def refused(res, *needles: str) -> str:
    """Exit 2, one line ``zcbench: error: ...`` on stderr, no traceback, nothing on stdout."""
    err = res.stderr.strip()
    assert res.exit_code == 2, f"exit {res.exit_code}: {res.output}{res.stderr}{res.exception!r}"
    assert err.startswith("zcbench: error:") and "\n" not in err and "Traceback" not in err, err
    assert res.stdout == "", res.stdout
    for n in needles:
        assert n.lower() in err.lower(), (n, err)
    return err


def cached(res) -> int:
    """Architectures served from the cache for every proxy: the least of the summary's per-proxy counts
    (``params: 3 cached; snip: 3 scored`` -> 0)."""
    parts = res.stdout.strip().splitlines()[-1].split(" in ")[0].split("; ")
    assert parts and all(": " in p for p in parts), res.stdout
    return min(int(m.group(1)) if (m := re.search(r"(\d+) cached", p)) else 0 for p in parts)


def runs_in(path: Path) -> dict[str, list[str]]:
    """Every run group of a results file -> its architectures, read with h5py alone."""
    out: dict[str, list[str]] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and "arch" in obj:
            out[name] = [a.decode() if isinstance(a, bytes) else a for a in obj["arch"][()]]

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def assert_one_row_per_arch(path: Path) -> None:
    for name, archs in runs_in(path).items():
        assert len(archs) == len(set(archs)), f"{name} holds an architecture twice: {archs}"


def export(path: Path) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(ok(run("export", path)).stdout))


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def write_cifar10(root: Path, seed: int) -> Path:
    """A miniature ``cifar-10-batches-py`` (official pickle layout): 30 random images, 3 per class."""
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (30, 3 * 32 * 32), dtype=np.uint8)
    for i in range(1, 6):
        with open(d / f"data_batch_{i}", "wb") as fh:
            pickle.dump({b"batch_label": b"training batch", b"data": data, b"labels": [j % 10 for j in range(30)]}, fh)
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Dumps (the official one, a moved copy, another release), two image folders, an archs list, and
    a results file with accuracies to read from."""
    d = tmp_path_factory.mktemp("trust")
    dump = d / "NAS-Bench-201-v1_1-096897.pth"
    meta = F.write_nb201_pth(dump, IDX)
    moved = d / "elsewhere" / dump.name
    moved.parent.mkdir()
    shutil.copy(dump, moved)
    other = d / "other" / dump.name  # same archs and 200-epoch accuracies, another file (v1_0's 12-epoch results)
    other.parent.mkdir()
    F.write_nb201_pth(other, IDX, v1_0=True)
    archs = d / "archs.txt"
    archs.write_text("".join(meta[i] + "\n" for i in IDX))
    results = d / "results.h5"
    ok(
        run(
            "score", "--space", "nb201", "--dump", dump, "--dataset", "cifar10", "--proxy", "params",
            "--proxy", "flops", "--proxy", "synflow", "--out", results, "--quiet",
        )
    )  # fmt: skip
    return {
        "dir": d,
        "dump": dump,
        "moved": moved,
        "other": other,
        "archs": archs,
        "meta": meta,
        "img1": write_cifar10(d / "img1", 1),
        "img2": write_cifar10(d / "img2", 2),
        "results": results,
    }


# == §1 A run's identity holds everything that changes a stored value ====================================
def test_epochs_are_never_served_from_another_schedules_cache(world, tmp_path):
    """The issue's first report: --epochs 12, then the default schedule, printed '3 already cached' and
    export kept the 12-epoch accuracies."""
    out = tmp_path / "s.h5"
    base = ["score", "--space", "nb201", "--dump", world["dump"], "--dataset", "cifar10", "--proxy", "params"]
    ok(run(*base, "--epochs", "12", "--out", out, "--quiet"))
    twelve = export(out)
    assert twelve["val_accuracy"].tolist() == pytest.approx([F.expected(i, "cifar10", 12)[0] for i in IDX])
    before = out.read_bytes()
    res = run(*base, "--out", out, "--quiet")
    after = export(out)
    if res.exit_code == 2:  # refused: the file is as it was
        refused(res, "12 epochs")
        assert out.read_bytes() == before
    else:  # or a separate run, computed again, whose accuracies are the 200-epoch ones
        assert ok(res) and cached(res) == 0
        assert after["val_accuracy"].tolist() == pytest.approx([F.expected(i, "cifar10")[0] for i in IDX])


# What must happen when one setting of a cached run changes ({option: value}; True = a flag, None = dropped):
# "same" = served from the cache; "new" = scored again as its own run; "refuse|new" = refused in one
# line (the file untouched), or scored as its own run.
VARIATIONS = {
    "dump moved (same file elsewhere)": (lambda w: {"--dump": w["moved"]}, "same"),
    "--epochs 12": (lambda w: {"--epochs": "12"}, "refuse|new"),
    "another dump under the same name": (lambda w: {"--dump": w["other"]}, "refuse|new"),
    "other images in --data-dir": (lambda w: {"--data-dir": w["img2"]}, "refuse|new"),
    "--synthetic": (lambda w: {"--synthetic": True, "--data-dir": None}, "new"),
    "--dataload grasp": (lambda w: {"--dataload": "grasp"}, "new"),
    "--dataload-info 2 (grasp)": (lambda w: {"--dataload": "grasp", "--dataload-info": "2"}, "new"),
    "--batch-size 8": (lambda w: {"--batch-size": "8"}, "new"),
    "--seed 1": (lambda w: {"--seed": "1"}, "new"),
    "--variant samsung": (lambda w: {"--variant": "samsung"}, "new"),
    "proxy option swap_repeats": (lambda w: {"--option": "swap_repeats=2"}, "new"),
}


def _score_args(defaults: dict, change: dict) -> list:
    """``score`` arguments from {option: value}: a list repeats the option, True is a flag, None drops it."""
    args = ["score", "--quiet"]
    for k, v in {**defaults, **change}.items():
        for one in v if isinstance(v, list) else [v]:
            if one is not None:
                args += [k] if one is True else [k, one]
    return args


def _identity_args(world, out, change: dict) -> list:
    defaults = {
        "--space": "nb201", "--dataset": "cifar10", "--dump": world["dump"], "--data-dir": world["img1"],
        "--batch-size": "4", "--seed": "0", "--proxy": ["snip", "params", "swap"], "--option": "swap_repeats=1",
        "--out": out,
    }  # fmt: skip
    return _score_args(defaults, change)


@pytest.mark.parametrize("name", list(VARIATIONS))
def test_a_changed_setting_is_refused_or_its_own_run(world, tmp_path, name):
    """Every setting that changes a stored column (schedule, dump identity, data source and images,
    dataload and its info, batch, seed, variant, options) is in the key or checked against the run;
    moving the dump (same file) is not a change."""
    change, expect = VARIATIONS[name]
    change = change(world)
    out = tmp_path / "r.h5"
    first = {"--dataload": "grasp"} if "--dataload-info" in change else {}  # the cached run: grasp, 1 per class
    ok(run(*_identity_args(world, out, first)))
    runs_before, bytes_before = runs_in(out), out.read_bytes()
    res = run(*_identity_args(world, out, change))
    if expect == "same":
        assert cached(ok(res)) == len(IDX) and runs_in(out) == runs_before
        return
    if res.exit_code == 2:
        assert expect == "refuse|new", f"{name}: refused, but it is a run of its own: {res.stderr}"
        refused(res, "cannot")
        assert out.read_bytes() == bytes_before
        return
    assert cached(ok(res)) == 0, f"{name}: served from the cache of another setting: {res.stdout}"
    runs_after = runs_in(out)
    assert set(runs_before) < set(runs_after), f"{name}: rows went into an existing run"
    for path, archs in runs_before.items():
        assert runs_after[path] == archs, f"{name}: {path} changed"
    assert_one_row_per_arch(out)


def test_dump_and_no_dump_follow_one_rule_in_score_and_merge(world, tmp_path):
    """Scoring without --dump into a run that came from a dump appended NaN-accuracy rows, while merge
    refused the same mix blaming the data source of a data-free proxy."""
    with_dump, without = tmp_path / "a.h5", tmp_path / "b.h5"
    base = ["score", "--space", "nb201", "--dataset", "cifar10", "--proxy", "params", "--quiet"]
    ok(run(*base, "--dump", world["dump"], "--out", with_dump))
    ok(run(*base, "--archs", world["archs"], "--out", without))
    before = with_dump.read_bytes()
    err = refused(run(*base, "--archs", world["archs"], "--out", with_dump), "dump")
    assert "data_source" not in err
    assert with_dump.read_bytes() == before and export(with_dump)["val_accuracy"].notna().all()
    merged = tmp_path / "m.h5"
    err = refused(run("merge", with_dump, without, "-o", merged), "dump")
    assert "data_source" not in err and "synthetic" not in err
    # which file holds what, unambiguously ("A and B differ: it holds ..." named the wrong file as "it")
    assert f"cannot merge {without} into the run from {with_dump}: it holds accuracies from {world['dump'].name}" in err
    assert "this holds no accuracies (scored without --dump)" in err
    assert not merged.exists()


def test_grasp_with_synthetic_images_is_refused(tmp_path):
    """Per-class picking from Gaussian noise is the random loader under another name (and another key)."""
    out = tmp_path / "new" / "r.h5"
    refused(
        run(
            "score", "--space", "nb201", "--sample", "1", "--proxy", "snip", "--synthetic", "--dataload", "grasp",
            "--batch-size", "4", "--out", out,
        ),
        "grasp",
        "synthetic",
    )  # fmt: skip
    assert not (tmp_path / "new").exists()


def test_vote_and_all_resume_and_never_store_an_arch_twice(tmp_path):
    """--proxy vote (so also all) never resumed, and its input runs grew 2 -> 4 -> 6 rows."""
    out = tmp_path / "v.h5"
    args = ["score", "--space", "nb201", "--sample", "2", "--synthetic", "--batch-size", "4", "--out", out, "--quiet"]
    ok(run(*args, "--proxy", "vote"))
    for _ in range(2):
        assert cached(ok(run(*args, "--proxy", "vote"))) == 2
    runs = runs_in(out)
    assert {p.split("/")[-2] for p in runs} == {"synflow", "jacov", "snip"}
    assert all(len(a) == 2 for a in runs.values()), runs
    assert_one_row_per_arch(out)


def test_retry_failed_rescores_only_the_failures(world, tmp_path, monkeypatch):
    """--retry-failed scores again exactly the architectures stored as failed (before: only --no-resume,
    which recomputes everything)."""
    import zcbench.proxies.params as params_mod

    calls = {"n": 0, "fail_first": True}
    real = params_mod.count_params

    def flaky(net):
        calls["n"] += 1
        if calls["fail_first"] and calls["n"] == 1:
            raise RuntimeError("injected failure")
        return real(net)

    monkeypatch.setattr(params_mod, "count_params", flaky)
    out = tmp_path / "r.h5"
    args = ["score", "--space", "nb201", "--dump", world["dump"], "--proxy", "params", "--out", out, "--quiet"]
    res = ok(run(*args))
    assert "1 failed" in res.stdout
    failed = export(out)
    assert failed["params"].isna().sum() == 1
    calls.update(n=0, fail_first=False)
    assert cached(ok(run(*args))) == len(IDX) and calls["n"] == 0  # a failure counts as done on resume
    ok(run(*args, "--retry-failed"))
    assert calls["n"] == 1, "only the failed architecture is scored again"
    done = export(out)
    assert done["params"].notna().all()
    kept = failed.set_index("arch")["params"].dropna()
    assert (done.set_index("arch")["params"][kept.index] == kept).all(), "the scores that were fine are kept"
    assert [len(a) for a in runs_in(out).values()] == [len(IDX)]


def test_the_store_checks_every_write(tmp_path):
    """The invariant lives in the writer, not only in the planner: one row per architecture (a value
    replaces a failure, never the reverse; the same row again is a no-op; another value is refused),
    and rows of another truth never join a run. (Library API: not part of the older code.)"""
    from zcbench.errors import StoreError
    from zcbench.store import ResultStore, Row, RunInfo, RunKey

    key = RunKey(space="nb201", dataset="cifar10", proxy="params", data_free=True)
    info = RunInfo(truth="d.pth:1:abc;epochs=default")
    out = tmp_path / "r.h5"
    with ResultStore(out) as st:
        st.append(key, info, [Row(0, "x", 1.0, 0.1), Row(1, "y", float("nan"), 0.1, error="boom")])
        st.append(key, info, [Row(0, "x", 1.0, 0.2)])  # the same value again (timing aside): kept once
        st.append(key, info, [Row(1, "y", 2.0, 0.1)])  # a value replaces the recorded failure
        st.append(key, info, [Row(0, "x", float("nan"), 0.1, error="late")])  # a failure never replaces a value
        with pytest.raises(StoreError, match="already stored"):
            st.append(key, info, [Row(0, "x", 3.0, 0.1)])
        with pytest.raises(StoreError, match="12 epochs"):
            st.append(key, RunInfo(truth="d.pth:1:abc;epochs=12"), [Row(2, "z", 1.0, 0.1)])
    assert runs_in(out) == {key.path: ["x", "y"]}
    got = export(out).set_index("arch")["params"].to_dict()
    assert got == {"x": 1.0, "y": 2.0}


# == §2 Validate before any work, and never a traceback ===================================================
SCORE_BAD = {  # {option: value} over the defaults below, and what the one-line message must name
    "--sample 0": ({"--sample": "0"}, ["--sample"]),
    "--sample larger than the space": ({"--sample": "20000", "--limit": "1"}, ["15,625"]),
    "--limit -1": ({"--limit": "-1"}, ["--limit"]),
    "--limit 0": ({"--limit": "0"}, ["--limit"]),
    "--batch-size 0": ({"--batch-size": "0"}, ["--batch-size"]),
    "--batch-size -3": ({"--batch-size": "-3"}, ["--batch-size"]),
    "--dataload-info 0": ({"--dataload-info": "0"}, ["--dataload-info"]),
    "--dataload-info without grasp": ({"--dataload-info": "2"}, ["grasp"]),
    "--timeout 0": ({"--timeout": "0", "--workers": "1"}, ["--timeout"]),
    "--timeout -1": ({"--timeout": "-1", "--workers": "1"}, ["--timeout"]),
    "--option swap_repeats=abc": ({"--proxy": ["snip", "swap"], "--option": "swap_repeats=abc"}, ["swap_repeats"]),
    "--proxy reg_swap without its options": ({"--proxy": "reg_swap"}, ["reg_swap_mu"]),
    "missing --dump": ({"--dump": "/nonexistent/NAS-Bench-201-v1_1-096897.pth"}, ["no such file"]),
}


@pytest.mark.parametrize("name", list(SCORE_BAD))
def test_score_refuses_bad_input_before_any_work(tmp_path, name):
    """One line, exit 2, and no output directory or empty .h5 left behind."""
    change, needles = SCORE_BAD[name]
    defaults = {
        "--space": "nb201", "--synthetic": True, "--sample": "3", "--proxy": "snip", "--batch-size": "4",
        "--out": tmp_path / "new" / "sub" / "r.h5",
    }  # fmt: skip
    refused(run(*_score_args(defaults, change)), *needles)
    assert not (tmp_path / "new").exists()


def test_proxy_all_works_out_of_the_box(tmp_path):
    """reg_swap failed on every architecture (it needs options) and the summary counted 19 for 18 runs."""
    out = tmp_path / "all.h5"
    args = ["score", "--space", "nb201", "--sample", "2", "--proxy", "all", "--synthetic", "--batch-size", "4"]
    res = ok(run(*args, "--out", out, "--quiet"))
    parts = res.stdout.strip().split(" in ")[0].split("; ")  # one entry per stored run, none failed
    stored = RunSettings("nb201", proxies=("all",)).validated().stored_proxies()
    assert [p.split(":")[0] for p in parts] == stored  # reg_swap left out, vote as its inputs
    assert all(re.fullmatch(r"\w+: 2 scored", p) for p in parts), res.stdout
    note = [ln for ln in res.stderr.splitlines() if "reg_swap" in ln]
    assert len(note) == 1 and "reg_swap_mu" in note[0] and "reg_swap_sigma" in note[0]
    runs = runs_in(out)
    assert len(parts) == len(runs)
    assert not any("/reg_swap/" in p for p in runs) and len(runs) >= 15
    assert cached(ok(run(*args, "--out", out, "--quiet"))) == 2
    assert_one_row_per_arch(out)


SEARCH = ["search", "{results}", "--proxy", "synflow", "--budget", "2", "--rounds", "1"]
OTHER_BAD_NUMBERS = [  # (arguments, what the one-line message names)
    (["correlate", "{results}", "--ci", "--ci-resamples", "0"], "--ci-resamples"),
    (["correlate", "{results}", "--ci", "--ci-resamples", "-5"], "--ci-resamples"),
    (["correlate", "{results}", "--ci", "--ci-seed", "-1"], "--ci-seed"),
    (["correlate", "{results}", "--digits", "-1"], "--digits"),
    (["correlate", "{results}", "--top-k", "0"], "top-k"),
    (["export", "{results}", "--head", "0"], "--head"),
    (["export", "{results}", "--head", "-1"], "--head"),
    (["plot", "{results}", "--top", "0", "--out", "{tmp}/figs"], "top"),
    ([*SEARCH, "--budget", "0"], "budget"),
    ([*SEARCH, "--seed", "-1"], "seed"),
    ([*SEARCH, "--warmup", "-1"], "warmup"),
    ([*SEARCH, "--algo", "predictor-evolution", "--candidates", "0"], "candidates"),
    ([*SEARCH, "--digits", "-1"], "--digits"),
    (["search", "{results}", "--proxy", "synflow", "--config", "{tmp}/bad.yaml"], "budget"),
    (["status", "{results}", "--reasons", "-1"], "--reasons"),
    (["compare", "{results}", "params", "synflow", "--seed", "-1"], "--seed"),
    (["bench", "--proxy", "params", "--archs", "0"], "--archs"),
    (["bench", "--proxy", "params", "--archs", "1", "--threads", "-1"], "--threads"),
    (["bench-engine", "--proxy", "params", "--archs", "1", "--max-workers", "-1"], "--max-workers"),
]


@pytest.mark.parametrize("args,names", OTHER_BAD_NUMBERS, ids=lambda a: " ".join(a[2:]) if isinstance(a, list) else "")
def test_numbers_that_make_no_sense_are_refused(world, tmp_path, args, names):
    """correlate/plot/search/compare/bench/bench-engine/status/export: a number below what makes sense is
    refused before any work (a config file's numbers too), never a traceback or an empty result."""
    (tmp_path / "bad.yaml").write_text("budget: 0\nrounds: 1\n")
    res = run(*[a.format(results=world["results"], tmp=tmp_path) for a in args])
    refused(res, names)
    assert not (tmp_path / "figs").exists()


SELECTORS = [
    (["export", "{results}", "--space", "nb999"], "nb201"),
    (["export", "{results}", "--dataset", "nosuch"], "cifar10"),
    (["correlate", "{results}", "--space", "nb999"], "nb201"),
    (["correlate", "{results}", "--dataset", "nosuch"], "cifar10"),
    (["correlate", "{results}", "--proxy", "synflow", "--proxy", "nosuch"], "params"),
    (["correlate", "{results}", "--paper", "abdelfattah2021", "--table", "nosuch"], "nb201-table1"),
    (["plot", "{results}", "--dataset", "nosuch", "--out", "{tmp}/figs"], "cifar10"),
    (["plot", "{results}", "--proxy", "nosuch", "--out", "{tmp}/figs"], "synflow"),
    (["search", "{results}", "--proxy", "synflow", "--space", "nb999"], "nb201"),
    (["search", "{results}", "--proxy", "synflow", "--dataset", "nosuch"], "nb201/cifar10"),
    (["compare", "{results}", "params", "synflow", "--dataset", "nosuch"], "cifar10"),
]


@pytest.mark.parametrize("args,names", SELECTORS, ids=lambda a: " ".join(a[:1] + a[2:]) if isinstance(a, list) else "")
def test_a_selector_that_matches_nothing_names_what_exists(world, tmp_path, args, names):
    res = run(*[a.format(results=world["results"], tmp=tmp_path) for a in args])
    refused(res, names)
    assert not (tmp_path / "figs").exists()


def _outputs(results: Path, where: Path) -> list[list]:
    search = ["search", results, "--proxy", "synflow", "--budget", "2", "--rounds", "1"]
    return [
        ["correlate", results, "--out", where / "c.txt"],
        ["plot", results, "--format", "png", "--out", where / "figs"],
        [*search, "--curves", where / "c.csv"],
        [*search, "--plot", where / "p.png"],
        ["export", results, "-o", where / "e.csv"],
    ]


@pytest.mark.parametrize("kind", ["under a file", "unwritable", "read-only directory"])
@pytest.mark.parametrize("i", range(5), ids=["correlate --out", "plot --out", "search --curves", "search --plot",
                                             "export -o"])  # fmt: skip
def test_output_filesystem_errors_are_one_line(world, tmp_path, kind, i):
    """plot/correlate/search outputs into a directory that cannot exist or cannot be written: one line,
    as score, export and merge already did."""
    if kind == "under a file":
        blocker = tmp_path / "file"
        blocker.write_text("x")
        where = blocker / "sub"
    elif kind == "unwritable":
        where = Path("/proc/zcbench-trust-test")  # cannot be created, not even by root
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only directories")
        where = tmp_path / "ro"
        where.mkdir(mode=0o500)
    refused(run(*_outputs(world["results"], where)[i]), "cannot")


def test_failed_commands_leave_nothing_behind(world, tmp_path):
    """A failure anywhere (here: the last step) leaves no file and no directory the command created."""
    new = tmp_path / "new"
    res = world["results"]
    search = ["search", res, "--proxy", "synflow", "--budget", "2", "--rounds", "1"]
    refused(run(*search, "--curves", new / "c.csv", "--plot", new / "p.xyz"), "xyz")  # checked before the search
    refused(run("correlate", res, "--protocol", "nosuch", "--out", new / "c.txt"))
    refused(run("plot", res, "--protocol", "nosuch", "--out", new / "figs"))
    nothing = tmp_path / "empty.h5"  # a results file whose rows have no accuracies: nothing to plot
    ok(run("score", "--space", "nb201", "--sample", "1", "--proxy", "params", "--out", nothing, "--quiet"))
    refused(run("plot", nothing, "--out", new / "figs"), "nothing to plot")
    assert not new.exists(), tree(new)


def test_search_plot_takes_any_suffix_matplotlib_writes(world, tmp_path):
    search = ["search", world["results"], "--proxy", "synflow", "--budget", "2", "--rounds", "1"]
    ok(run(*search, "--plot", tmp_path / "a" / "curves.svg", "--curves", tmp_path / "a" / "c.csv"))
    assert (tmp_path / "a" / "curves.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert pd.read_csv(tmp_path / "a" / "c.csv")["n"].max() == 2
    ok(run(*search, "--plot", tmp_path / "b" / "curves"))
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["curves.pdf", "curves.png"]


# == correlate --ties ==================================================================================
def _constructed_results(path: Path) -> pd.DataFrame:
    """cifar10: synflow (ρ≈0.95), jacov (a little noisier: tied with it), snip (noise: not tied); cifar100:
    only snip has scores (so it is the best there). Named as the vote's inputs, so a vote row exists."""
    from zcbench.store import ResultStore, Row, RunInfo, RunKey, load_frame

    rng = np.random.default_rng(0)
    n = 300
    acc = rng.uniform(40, 90, n)
    cols = {"synflow": acc + rng.normal(0, 4, n), "jacov": acc + rng.normal(0, 4.5, n), "snip": rng.normal(0, 1, n)}
    with ResultStore(path) as st:
        for proxy, score in cols.items():
            for dataset in ("cifar10", "cifar100") if proxy == "snip" else ("cifar10",):
                key = RunKey(space="nb201", dataset=dataset, proxy=proxy, data_free=True)
                rows = [Row(i, f"a{i}", float(score[i]), 0.0, float(acc[i]), float(acc[i])) for i in range(n)]
                st.append(key, RunInfo(), rows)
    return load_frame(path)


def test_correlate_ties_marks_the_proxies_tied_with_the_best(tmp_path):
    from zcbench.report.significance import tie_table

    path = tmp_path / "r.h5"
    frame = _constructed_results(path)
    args = ["correlate", path, "--ties", "--ci-resamples", "400", "--ci-seed", "3"]
    rows = {(r["dataset"], r["proxy"]): r for r in json.loads(ok(run(*args, "--format", "json", "--vote")).stdout)}
    assert rows[("cifar10", "synflow")]["tied"] is True  # the best
    assert rows[("cifar10", "jacov")]["tied"] is True
    assert rows[("cifar10", "snip")]["tied"] is False
    assert rows[("cifar100", "snip")]["tied"] is True  # the only proxy there is the best there
    assert rows[("cifar10", "vote")]["tied"] is None  # not a correlation: no verdict
    assert rows[("cifar100", "synflow")]["tied"] is None  # no scores there: no verdict
    lib = tie_table(frame, ["synflow", "jacov", "snip"], "val_accuracy", resamples=400, seed=3)
    assert {(r.dataset, r.proxy): r.tied_with_best for r in lib.itertuples()} == {
        k: r["tied"] for k, r in rows.items() if r["tied"] is not None
    }
    text = ok(run(*args)).stdout
    assert "tied" in text.splitlines()[0] and "400 resamples, seed 3" in text and "best − proxy" in text
    refused(run("correlate", path, "--ties", "--metric", "pearson"), "--ties", "spearman")
    refused(run("correlate", path, "--ties", "--paper", "abdelfattah2021"), "--ties")
