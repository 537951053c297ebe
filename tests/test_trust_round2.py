"""Numbers you can trust, round two (issue #19): each item pinned by a test that failed before its fix.

§3 declared option defaults; §4 the code a plugin runs is what its fingerprint hashes; §5 a minibatch never
smaller than its key says; §6 a journal without its HDF5 file is read; §7 bad published accuracies are noted,
file notes once; §10 an architecture a dump has no record of; §11 proxy names; §12 per-proxy summary lines;
§13 caches in a cache folder; §14 small defects (offline download, nested samples, the API's edges, vote).
Fast: miniature files, data-free proxies, three architectures.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import pickle
import re
import sys
import textwrap
from pathlib import Path

import nb201_fixtures as F
import numpy as np
import pandas as pd
import pytest
from test_trust import ok, refused, run  # the CLI helpers of round one

import zcbench as zc
from zcbench.errors import UsageError
from zcbench.settings import ArchSelection, RunSettings
from zcbench.store import iter_runs

IDX = [0, 7, 300]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def scores(out: Path, proxy: str) -> dict[str, tuple[float, str]]:
    """{arch: (score, error)} of the most recently updated run of ``proxy``."""
    runs = sorted((a for a in iter_runs(out) if a[0]["proxy"] == proxy), key=lambda r: str(r[0].get("updated")))
    cols = runs[-1][1]
    return {a: (float(s), str(e)) for a, s, e in zip(cols["arch"], cols["score"], cols["error"])}


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dump")
    path = d / "NAS-Bench-201-v1_1-096897.pth"
    F.write_nb201_pth(path, IDX)
    return path


def write_cifar(root: Path, n_per_file: int, classes: int = 10, files: int = 5, seed: int = 0) -> Path:
    """A miniature CIFAR-10 (or CIFAR-100, ``classes=100, files=1``) in the official pickle layout; labels
    cycle through the classes."""
    rng = np.random.default_rng(seed)
    if classes == 10:
        d, names, key = root / "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, files + 1)], b"labels"
    else:
        d, names, key = root / "cifar-100-python", ["train"], b"fine_labels"
    d.mkdir(parents=True)
    for name in names:
        data = rng.integers(0, 256, (n_per_file, 3 * 32 * 32), dtype=np.uint8)
        with open(d / name, "wb") as fh:
            pickle.dump({b"data": data, key: [j % classes for j in range(n_per_file)]}, fh)
    return root


# == §3 declared option defaults ============================================================================
OPTIONED = """
    from zcbench import Option, register_proxy


    @register_proxy("powered", images=False, options={"p": Option(float, default=2.0)})
    def powered(net, ctx):
        return sum(t.numel() for t in net.parameters()) ** (1 / ctx.options["p"])


    @register_proxy("lender", images=False, options={"q": Option(float, default=1.0)})
    def lender(net, ctx):
        return ctx.options["q"]


    @register_proxy("borrower", images=False)
    def borrower(net, ctx):
        return ctx.options["q"]  # not declared: its key cannot say which q it read
"""


def test_declared_defaults_are_in_ctx_options_and_a_rerun_at_the_default_is_the_same_run(tmp_path):
    plugin = write(tmp_path / "optioned.py", OPTIONED)
    out = tmp_path / "o.h5"
    base = ("score", "--space", "nb201", "--limit", 3, "--plugin", plugin, "--proxy", "powered", "--out", out)
    ok(run(*base))
    got = scores(out, "powered")
    assert len(got) == 3 and all(e == "" and s > 1 for s, e in got.values()), got
    res = ok(run(*base, "--option", "p=2"))  # the default spelled out: the same computation, served from the cache
    assert re.search(r"powered: 3 cached", res.stdout), res.stdout
    assert scores(out, "powered") == got


def test_an_undeclared_option_is_a_failure_that_is_never_reused(tmp_path):
    """``borrower`` reads ``q``, declared only by ``lender``: it must not see it (its key cannot hold it), its
    failure names the option, and a stored failure of that kind is scored again rather than served."""
    from zcbench.engine.plan import plan_run

    plugin = write(tmp_path / "optioned.py", OPTIONED)
    out = tmp_path / "b.h5"
    ok(run("score", "--space", "nb201", "--limit", 3, "--plugin", plugin, "--proxy", "borrower", "--proxy", "lender",
           "--option", "q=5", "--out", out))  # fmt: skip
    assert {s for s, _ in scores(out, "lender").values()} == {5.0}
    got = scores(out, "borrower")
    assert len(got) == 3 and all(math.isnan(s) and "'q'" in e and "declare" in e for s, e in got.values()), got
    settings = RunSettings("nb201", "cifar10", ("borrower",), plugins=(str(plugin),))
    plan = plan_run(settings, ArchSelection(limit=3), out)
    assert sorted(plan.todo) == sorted(got) and all(p == ["borrower"] for p in plan.todo.values())


# == §4 the code a plugin runs ==============================================================================
def test_editing_a_module_the_plugin_imports_is_a_new_run(tmp_path):
    write(tmp_path / "helper_r2.py", "SCALE = 1.0\n")
    plugin = write(tmp_path / "uses_helper.py", """
        from zcbench import register_proxy

        import helper_r2


        @register_proxy("helped", images=False)
        def helped(net, ctx):
            return helper_r2.SCALE * sum(t.numel() for t in net.parameters())
    """)  # fmt: skip
    out = tmp_path / "h.h5"
    args = ("score", "--space", "nb201", "--limit", 2, "--plugin", plugin, "--proxy", "helped", "--out", out)
    try:
        ok(run(*args))
        first = scores(out, "helped")
        write(tmp_path / "helper_r2.py", "SCALE = 2.00\n")  # (another size: no stale .pyc) read in this process too
        res = ok(run(*args))
        assert "helped: 2 scored" in res.stdout, res.stdout
        assert {a: s for a, (s, _) in scores(out, "helped").items()} == {a: 2 * s for a, (s, _) in first.items()}
    finally:
        sys.modules.pop("helper_r2", None)


def test_editing_a_global_of_an_api_functions_module_is_a_new_run(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = write(tmp_path / "api_proxy_r2.py", """
        FACTOR = 1.0


        def factored(net, ctx):
            return FACTOR * sum(t.numel() for t in net.parameters())
    """)  # fmt: skip
    try:
        m = importlib.import_module("api_proxy_r2")
        out = tmp_path / "api.h5"
        zc.score("nb201", [m.factored], limit=2, out=out, proxy_meta={"images": False})
        first = scores(out, "factored")
        mod.write_text(mod.read_text().replace("FACTOR = 1.0", "FACTOR = 3.00"))  # another size: no stale .pyc
        m = importlib.reload(m)
        s = zc.score("nb201", [m.factored], limit=2, out=out, proxy_meta={"images": False})
        assert s.scored == 2
        assert {a: v for a, (v, _) in scores(out, "factored").items()} == {a: 3 * v for a, (v, _) in first.items()}
    finally:
        sys.modules.pop("api_proxy_r2", None)


# == §5 a minibatch never smaller than its key ==============================================================
def test_a_batch_larger_than_the_images_is_refused_naming_how_many(tmp_path):
    data = write_cifar(tmp_path / "data", 20)  # 100 images, 10 per class
    out = tmp_path / "never.h5"
    base = ("score", "--space", "nb201", "--limit", 1, "--proxy", "snip", "--data-dir", data, "--out", out)
    refused(run(*base, "--batch-size", 500), "500", "100")
    refused(run(*base, "--dataload", "grasp", "--dataload-info", 20), "20", "10")
    c100 = write_cifar(tmp_path / "c100", 20, classes=100)  # 20 images
    refused(run(*base[:-4], "--dataset", "cifar100", "--data-dir", c100, "--out", out), "64", "20")
    assert not out.exists()
    ok(run(*base, "--batch-size", 100, "--quiet"))  # every image of the set: fine


# == §6 a journal without its HDF5 file =====================================================================
def test_readers_fold_in_a_journal_whose_first_commit_never_happened(tmp_path, dump, monkeypatch):
    from zcbench.store import ResultStore

    out = tmp_path / "j.h5"
    with monkeypatch.context() as m:  # kill -9 during the first commit: the rows are in the journal only
        m.setattr(ResultStore, "commit", lambda self: None)
        ok(run("score", "--space", "nb201", "--dump", dump, "--proxy", "params", "--proxy", "flops", "--out", out))
    assert not out.exists() and Path(str(out) + ".journal").is_file()
    status = ok(run("status", out)).stdout
    assert "nb201/cifar10/params" in status and "nb201/cifar10/flops" in status
    df = pd.read_csv(io.StringIO(ok(run("export", out)).stdout))
    assert len(df) == 3 and df["params"].notna().all() and df["val_accuracy"].notna().all()
    assert "params" in ok(run("correlate", out)).stdout
    assert len(zc.load_results(out)) == 3
    refused(run("status", tmp_path / "nothing.h5"), "no such results file")


# == §7 published accuracies ================================================================================
def _suite_zero(path: Path, accuracies: list) -> Path:
    keys = [
        "(0, 1, 2, 3, 4, 0)",
        "(1, 1, 2, 3, 4, 0)",
        "(2, 1, 2, 3, 4, 0)",
        "(3, 1, 2, 3, 4, 0)",
        "(4, 1, 2, 3, 4, 0)",
    ]
    section = {}
    for i, (key, acc) in enumerate(zip(keys, accuracies)):
        entry = {"synflow": {"score": 1.0 + i, "time": 0.1}, "snip": {"score": 2.0 + i, "time": 0.1}}
        if acc is not ...:
            entry["val_accuracy"] = acc
        section[key] = entry
    path.write_text(json.dumps({"nasbench201": {"cifar10": section}}))  # the early layout: a file-level note
    return path


def test_bad_published_accuracies_are_noted_and_file_notes_come_once(tmp_path):
    src = _suite_zero(tmp_path / "zc_nasbench201.json", [91.5, ..., "n/a", -3.0, 101.0])
    out = tmp_path / "imp.h5"
    err = ok(run("import", "naslib", src, "--out", out)).stderr
    lines = err.strip().splitlines()
    assert len([ln for ln in lines if "early NASLib layout" in ln]) == 1, err
    for needle in ("val_accuracy absent for 1 of 5", "1 non-numeric val_accuracy", "2 val_accuracy outside 0-100"):
        assert len([ln for ln in lines if needle in ln]) == 1, (needle, err)
    df = zc.load_results(out)
    assert df["val_accuracy"].notna().sum() == 1  # only the valid one is an accuracy


# == §10 an architecture the dump has no record of ==========================================================
def test_an_architecture_without_a_record_is_noted_and_correlate_does_not_blame_the_dump(tmp_path):
    simple = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    meta = F.write_nats_simple(simple, IDX)
    archs = tmp_path / "archs.txt"
    archs.write_text("".join(meta[i] + "\n" for i in [*IDX, 42]))  # 42 has no record in the folder
    out = tmp_path / "n.h5"
    res = ok(run("score", "--space", "nb201", "--dump", simple, "--archs", archs, "--proxy", "params", "--out", out))
    assert "1 of 4 architectures" in res.stderr and "no record" in res.stderr, res.stderr
    df = zc.load_results(out)
    assert df.set_index("arch")["val_accuracy"].isna().to_dict() == {meta[i]: i == 42 for i in [*IDX, 42]}
    table = ok(run("correlate", out)).stdout
    assert "dump not loaded" not in table and "1 of 4 architectures have no val accuracy" in table, table
    only42 = tmp_path / "one.txt"
    only42.write_text(meta[42] + "\n")
    out2 = tmp_path / "n2.h5"
    ok(run("score", "--space", "nb201", "--dump", simple, "--archs", only42, "--proxy", "params", "--out", out2))
    table = ok(run("correlate", out2)).stdout
    assert "dump not loaded" not in table and "no val accuracies" in table, table


# == §11 proxy names ========================================================================================
@pytest.mark.parametrize("name", ["a/b", "..", "up..dir", "syn*", "x?", "[ab]", "mine@naslib", "", "two words", "a,b"])
def test_proxy_names_that_would_break_paths_patterns_or_columns_are_refused(tmp_path, name):
    plugin = write(tmp_path / "named.py", f"""
        from zcbench import register_proxy


        @register_proxy({name!r}, images=False)
        def named(net, ctx):
            return 1.0
    """)  # fmt: skip
    refused(run("proxies", "--plugin", plugin), "proxy name")


def test_api_function_names_are_checked(tmp_path):
    with pytest.raises(UsageError, match="proxy name"):
        zc.score("nb201", [lambda net, ctx: 1.0], limit=1, out=tmp_path / "never.h5", proxy_meta={"images": False})
    assert not (tmp_path / "never.h5").exists()


# == §12 summary lines ======================================================================================
def test_the_summary_says_what_happened_per_proxy(tmp_path):
    plugin = write(tmp_path / "flaky.py", """
        from zcbench import register_proxy


        @register_proxy("flaky", images=False)
        def flaky(net, ctx):
            raise ValueError("always")
    """)  # fmt: skip
    out = tmp_path / "s.h5"
    base = ("score", "--space", "nb201", "--limit", 3, "--out", out)
    ok(run(*base, "--proxy", "params"))
    res = ok(run(*base, "--proxy", "params", "--proxy", "flops", "--plugin", plugin, "--proxy", "flaky"))
    line = res.stdout.strip().splitlines()[-1]
    assert line.startswith("params: 3 cached; flops: 3 scored; flaky: 3 scored, 3 failed"), line
    assert line.endswith(f"-> {out}"), line


def test_an_interrupted_run_that_wrote_nothing_does_not_claim_a_file(tmp_path):
    from zcbench.engine import Interrupted, run_scoring
    from zcbench.engine.worker import WorkerCore

    class Interrupting(WorkerCore):
        def score(self, arch, proxies):
            raise KeyboardInterrupt

    out = tmp_path / "never.h5"
    with pytest.raises(Interrupted) as err:
        run_scoring(RunSettings("nb201", "cifar10", ("params",)), ArchSelection(limit=2), out=out,
                    core_cls=Interrupting)  # fmt: skip
    assert "nothing saved" in str(err.value) and "saved to" not in str(err.value) and not out.exists()


# == §13 caches in a cache folder ===========================================================================
def test_dump_caches_go_to_the_cache_folder_never_beside_the_dump(tmp_path, monkeypatch):
    from zcbench.spaces import get_space

    folder = tmp_path / "data"
    folder.mkdir()
    F.write_nb201_pth(folder / "NAS-Bench-201-v1_1-096897.pth", IDX)
    simple = folder / "NATS-tss-v1_0-3ffb9-simple"
    F.write_nats_simple(simple, IDX)
    before = sorted(p.name for p in folder.iterdir())
    cache = tmp_path / "cache"
    monkeypatch.setenv("ZCBENCH_CACHE", str(cache))
    for dump in (folder / "NAS-Bench-201-v1_1-096897.pth", simple):
        get_space("nb201").load_dump(dump, "cifar10")
    assert sorted(p.name for p in folder.iterdir()) == before
    assert len(list(cache.glob("*.zcbench-cache.h5"))) == 2
    if sys.platform.startswith("linux"):  # the default: the platform's user cache folder ($XDG_CACHE_HOME here)
        monkeypatch.delenv("ZCBENCH_CACHE")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        get_space("nb201").load_dump(simple, "cifar100")
        assert len(list((tmp_path / "xdg" / "zcbench").glob("*.zcbench-cache.h5"))) == 1
        assert sorted(p.name for p in folder.iterdir()) == before


# == §14 small defects ======================================================================================
def test_sample_is_nested_for_every_size():
    from zcbench.engine.plan import select_archs
    from zcbench.spaces import Benchmark, Record, get_space

    sp = get_space("nb201")
    pool = sp.sample(1000, 3)
    bench = Benchmark("nb201", "cifar10", "dump", [Record(i, a, 50.0, 50.0) for i, a in enumerate(pool)])
    small = select_archs(sp, bench, ArchSelection(sample=20), 0)
    large = select_archs(sp, bench, ArchSelection(sample=150), 0)
    assert set(small) <= set(large) and large[:20] == small
    nb301 = get_space("nb301")
    assert set(nb301.sample(20, 0)) <= set(nb301.sample(150, 0))


def test_compare_refuses_a_proxy_against_itself(tmp_path):
    cols = {"index": range(5), "arch": list("abcde"), "synflow": [1.0, 2, 3, 4, 5], "val_accuracy": [1.0, 3, 2, 5, 4]}
    df = pd.DataFrame({"space": "nb201", "dataset": "cifar10", **cols, "test_accuracy": np.nan})
    with pytest.raises(UsageError, match="same proxy"):
        zc.compare(df, "synflow", "synflow")


def test_one_architecture_string_is_one_architecture(tmp_path):
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    s = zc.score("nb201", ["params"], archs=arch, out=tmp_path / "one.h5")
    assert s.scored == 1 and list(scores(tmp_path / "one.h5", "params")) == [arch]


def test_proxies_lists_vote_as_computed_by_correlate():
    out = ok(run("proxies", "vote")).stdout
    assert "computed by correlate from synflow, jacov, snip" in out, out


def test_an_offline_download_leaves_no_folder(tmp_path, monkeypatch):
    import socket

    import yaml

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/swap.csv"
    entry = {"name": "swap-csv", "target": "swap.csv", "url": url, "checksum": None, "check": "swap-csv",
             "manual": "get swap.csv from its authors"}  # fmt: skip
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"format": 1, "entries": [entry], "targets": {}}))
    monkeypatch.setenv("ZCBENCH_DOWNLOAD_CATALOG", str(catalog))
    refused(run("download", "swap-csv", "--to", tmp_path / "dl"), "swap.csv")
    assert not (tmp_path / "dl").exists()
