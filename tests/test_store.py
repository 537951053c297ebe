"""The results store's crash guarantees, batched writes, coverage and merging.

The kill -9 tests run a writer in a subprocess and kill it at random moments (with a commit after
every row, so kills land inside commits too): every row the writer reported as appended must be in
the file afterwards, exactly once, and the HDF5 file must always open.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from zcbench.errors import StoreError
from zcbench.store import NO_TRUTH, ResultStore, Row, RunInfo, RunKey, coverage, iter_runs, read_run
from zcbench.store.merge import merge_results

REPO = Path(__file__).resolve().parents[1]
KEY = RunKey("nb201", "cifar10", "params", data_free=True)

WRITER = """
import sys
from zcbench.store import ResultStore, Row, RunInfo, RunKey, read_run
key = RunKey("nb201", "cifar10", "params", data_free=True)
with ResultStore(sys.argv[1], commit_every=float(sys.argv[2])) as st:
    i = int(max(read_run(sys.argv[1], key)["index"], default=-1)) + 1
    while True:
        if i % 3 == 0:
            st.append(key, RunInfo(), [Row(i, f"a{i}", float(i) / 7, 0.25)])
        else:
            st.append_many([(key, RunInfo(), Row(i, f"a{i}", float(i) / 7, 0.25))])
        print(i, flush=True)
        i += 1
"""


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return dict(os.environ, PYTHONPATH=path)


def _check(path: Path, acked: set[int]) -> None:
    cols = read_run(path, KEY)
    archs = cols["arch"].tolist()
    assert len(archs) == len(set(archs)), "a row was stored twice"
    assert {f"a{i}" for i in acked} <= set(archs), "an acknowledged row was lost"
    for a, s in zip(archs, cols["score"]):
        assert s == int(a[1:]) / 7


@pytest.mark.parametrize("commit_every", [0.0, 0.3])
def test_kill9_writer_at_random_moments(tmp_path, commit_every):
    path = tmp_path / "r.h5"
    acked: set[int] = set()
    rng = random.Random(1234)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(commit_every)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = proc.stdout.readline()
        assert first, proc.stderr.read()
        acked.add(int(first))
        time.sleep(rng.uniform(0.05, 0.8))
        proc.kill()
        out, _ = proc.communicate()
        acked.update(int(x) for x in out.split())
        with h5py.File(path, "r") as f:  # the HDF5 file always opens
            assert f.attrs["format"] == "zcbench"
        _check(path, acked)
    with ResultStore(path):  # replays the journal into the file
        pass
    assert not Path(str(path) + ".journal").exists()
    with h5py.File(path, "r") as f:
        n = f[KEY.path]["arch"].shape[0]
    assert n >= len(acked) and n == len(read_run(path, KEY)["arch"])
    _check(path, acked)


def test_replay_after_kill_between_replace_and_truncate(tmp_path):
    path = tmp_path / "r.h5"
    with ResultStore(path) as st:
        st.append(KEY, RunInfo(), [Row(0, "x", 1.0, 0.1), Row(1, "y", math.nan, 0.2, error="boom")])
        journal = st.journal.read_text()
    # the state a kill leaves after os.replace() but before the journal was emptied
    Path(str(path) + ".journal").write_text(journal)
    assert sorted(read_run(path, KEY)["arch"].tolist()) == ["x", "y"]  # readers do not double-count
    assert sorted(iter_runs(path)[0][1]["arch"].tolist()) == ["x", "y"]
    with ResultStore(path) as st:
        assert st.done(KEY) == {"x", "y"}
    cols = read_run(path, KEY)
    assert sorted(cols["arch"].tolist()) == ["x", "y"]
    # the same value computed again (other timing) is not a second row; another value is refused
    with ResultStore(path) as st:
        st.append(KEY, RunInfo(), [Row(0, "x", 1.0, 0.3)])
        with pytest.raises(StoreError, match="already stored"):
            st.append(KEY, RunInfo(), [Row(0, "x", 2.0, 0.3)])
    assert sorted(read_run(path, KEY)["arch"].tolist()) == ["x", "y"]


def test_torn_journal_line_is_dropped_and_cleared(tmp_path):
    path = tmp_path / "r.h5"
    with ResultStore(path) as st:
        st.append(KEY, RunInfo(), [Row(0, "x", 1.0, 0.1)])
    Path(str(path) + ".journal").write_text('{"key": {"space": "nb2')  # a writer killed mid-line
    with ResultStore(path, commit_every=3600) as st:
        st.append(KEY, RunInfo(), [Row(1, "y", 2.0, 0.1)])
        # without a commit the new row must still be readable from the journal by another reader
        assert sorted(read_run(path, KEY)["arch"].tolist()) == ["x", "y"]
        st._jfh.close()  # simulate a kill: no commit, the journal stays
        st._jfh = None
    assert sorted(read_run(path, KEY)["arch"].tolist()) == ["x", "y"]
    with ResultStore(path):
        pass
    assert sorted(read_run(path, KEY)["arch"].tolist()) == ["x", "y"]


def test_append_many_groups_runs_and_lock(tmp_path):
    path = tmp_path / "r.h5"
    other = RunKey("nb201", "cifar10", "synflow", data_free=True)
    with ResultStore(path, commit_every=3600) as st:
        st.append_many(
            [
                (KEY, RunInfo(), Row(0, "x", 1.0, 0.1)),
                (other, RunInfo(), Row(0, "x", 5.0, 0.1)),
                (KEY, RunInfo(), Row(1, "y", 2.0, 0.1)),
            ]
        )
        with pytest.raises(StoreError, match="another zcbench process"):
            ResultStore(path)
        st.append_many([])
    runs = {a["proxy"]: c for a, c in iter_runs(path)}
    assert runs["params"]["arch"].tolist() == ["x", "y"] and runs["synflow"]["score"].tolist() == [5.0]


def test_coverage_counts(tmp_path):
    path = tmp_path / "r.h5"
    other = RunKey("nb201", "cifar10", "synflow", data_free=True)
    with ResultStore(path) as st:
        st.append(
            KEY,
            RunInfo(),
            [Row(0, "a", 1.0, 0.1), Row(1, "b", math.nan, 0.1, error="boom"), Row(2, "c", math.nan, 0.1, error="boom")],
        )
        st.append(other, RunInfo(), [Row(0, "a", 1.0, 0.1), Row(3, "d", 2.0, 0.1)])
    cov = {c.proxy: c for c in coverage(path)}
    assert (cov["params"].done, cov["params"].failed, cov["params"].missing) == (1, 2, 1)
    assert cov["params"].reasons == {"boom": 2}
    assert (cov["synflow"].done, cov["synflow"].failed, cov["synflow"].missing) == (2, 0, 2)
    assert cov["params"].setting == "s0"


def _write(path: Path, rows: list[Row], key: RunKey = KEY, truth: str = "", versions=None) -> None:
    with ResultStore(path) as st:
        st.append(key, RunInfo(truth=truth, versions=versions or {}), rows)


def test_merge_refuses_conflicts_and_keeps_output(tmp_path):
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "out.h5"
    _write(a, [Row(0, "x", 1.0, 0.1), Row(1, "y", math.nan, 0.1, error="timeout after 5s")])
    _write(b, [Row(1, "y", 3.0, 0.2), Row(2, "z", 4.0, 0.1)])
    counts = merge_results([a, b], out)
    assert counts == {"runs": 1, "rows": 3, "duplicates": 0}
    got = dict(zip(read_run(out, KEY)["arch"].tolist(), read_run(out, KEY)["score"].tolist()))
    assert got == {"x": 1.0, "y": 3.0, "z": 4.0}  # a real value replaces the recorded failure
    before = out.read_bytes()
    c = tmp_path / "c.h5"
    _write(c, [Row(0, "x", 1.5, 0.1)])  # the same arch scored differently
    with pytest.raises(StoreError, match="refusing to merge"):
        merge_results([a, c], out)
    d = tmp_path / "d.h5"
    nodump = tmp_path / "nodump.h5"
    _write(nodump, [Row(3, "v", 1.0, 0.1)], truth=NO_TRUTH)  # scored without a dump
    _write(d, [Row(5, "w", 1.0, 0.1)], truth="other.pth:10:abc;epochs=12")  # another dump: other accuracies
    with pytest.raises(StoreError, match=r"holds no accuracies .*this holds accuracies from other.pth \(12 epochs"):
        merge_results([nodump, d], out)
    assert out.read_bytes() == before and not Path(str(out) + ".journal").exists()
    with h5py.File(d, "a") as f:
        f[KEY.path].attrs["torch"] = "0.0.1"
    e = tmp_path / "e.h5"
    _write(e, [Row(5, "w", 1.0, 0.1)], truth="other.pth:10:abc;epochs=12", versions={"torch": "9.9"})
    with pytest.raises(StoreError, match="torch 0.0.1, this with torch 9.9"):
        merge_results([d, e], tmp_path / "f.h5")
    assert merge_results([d, e], tmp_path / "f.h5", check_versions=False)["rows"] == 1
    with pytest.raises(Exception, match="cannot also be an input"):
        merge_results([a, out], out)


# -- commits at NB101 scale: the cost of a commit is the new rows, not the file ------------------------------
def _counting(monkeypatch):
    """Count full-file copies and arch-column reads made by the writer."""
    from zcbench.store import commit as store_commit
    from zcbench.store import writer as store_writer

    calls = {"copy": 0, "read_group": 0}
    real_copy, real_read = store_commit.shutil.copyfile, store_writer.read_group

    def copy(*a, **k):
        calls["copy"] += 1
        return real_copy(*a, **k)

    def read(*a, **k):
        calls["read_group"] += 1
        return real_read(*a, **k)

    monkeypatch.setattr(store_commit.shutil, "copyfile", copy)
    monkeypatch.setattr(store_writer, "read_group", read)
    return calls


def test_commits_neither_copy_the_file_nor_reread_its_columns(tmp_path, monkeypatch):
    path = tmp_path / "r.h5"
    other = RunKey("nb201", "cifar10", "synflow", data_free=True)
    with ResultStore(path) as st:  # a file from an earlier run
        st.append(KEY, RunInfo(), [Row(0, "a0", 0.0, 0.1), Row(1, "a1", math.nan, 0.1, error="timeout after 5s")])
        st.append(other, RunInfo(), [Row(0, "a0", 5.0, 0.1)])
    calls = _counting(monkeypatch)
    with ResultStore(path, commit_every=0.0) as st:  # a commit after every append
        for i in range(2, 42):
            st.append_many([(KEY, RunInfo(), Row(i, f"a{i}", i / 7, 0.1)), (other, RunInfo(), Row(i, f"a{i}", i, 0.1))])
            if i == 20:
                st.append(KEY, RunInfo(), [Row(1, "a1", 1 / 7, 0.2)])  # a retried failure, replaced in place
        copies = st._committer.copies
        assert Path(f"{path}.spare").exists()  # the previous version, brought up to date by the next commit
    assert copies == calls["copy"] == 1  # the writer's first commit only, not one per commit
    assert calls["read_group"] == 2  # each run's columns read once, when the writer first met it
    assert not Path(f"{path}.spare").exists() and not Path(f"{path}.next").exists()
    cols = read_run(path, KEY)
    assert cols["arch"].tolist() == [f"a{i}" for i in range(42)]  # one row each, in order, a1 in its place
    assert cols["score"].tolist() == [0.0, 1 / 7] + [i / 7 for i in range(2, 42)]
    assert cols["error"].tolist() == [""] * 42
    assert read_run(path, other)["score"].tolist() == [5.0] + [float(i) for i in range(2, 42)]
    with h5py.File(path, "r") as f:  # the file itself, not just file + journal
        assert f[KEY.path]["arch"].shape == (42,) and f[KEY.path]["score"][1] == 1 / 7


def test_a_reader_holding_the_old_version_is_never_written_to(tmp_path, monkeypatch):
    path = tmp_path / "r.h5"
    calls = _counting(monkeypatch)
    with ResultStore(path, commit_every=0.0) as st:
        for i in range(3):
            st.append(KEY, RunInfo(), [Row(i, f"a{i}", float(i), 0.1)])
        reader = h5py.File(path, "r")  # a reader opens version 3 ...
        try:
            st.append(KEY, RunInfo(), [Row(3, "a3", 3.0, 0.1)])  # ... which becomes the spare
            st.append(KEY, RunInfo(), [Row(4, "a4", 4.0, 0.1)])  # the spare is held: copied, not modified
            assert reader[KEY.path]["arch"].asstr()[()].tolist() == ["a0", "a1", "a2"]
        finally:
            reader.close()
        st.append(KEY, RunInfo(), [Row(5, "a5", 5.0, 0.1)])
    assert calls["copy"] == 2  # the writer's first commit after the file existed, and the held spare
    assert read_run(path, KEY)["arch"].tolist() == [f"a{i}" for i in range(6)]


SPARE_KILLER = """
import os, sys
from zcbench.store import ResultStore, Row, RunInfo, RunKey, commit
key = RunKey("nb201", "cifar10", "params", data_free=True)
real, n = commit.apply_plan, [0]
def apply_plan(f, plan):
    n[0] += 1
    if n[0] == int(sys.argv[2]):  # killed while the spare is being brought up to date in place
        f.flush()
        os._exit(9)
    real(f, plan)
commit.apply_plan = apply_plan
with ResultStore(sys.argv[1], commit_every=0.0) as st:
    for i in range(100):
        st.append(key, RunInfo(), [Row(i, f"a{i}", i / 7, 0.25)])
        print(i, flush=True)
"""


@pytest.mark.parametrize("kill_at", [4, 5, 9])
def test_kill9_while_the_spare_is_modified_in_place(tmp_path, kill_at):
    """kill -9 inside the new commit path: the file always opens, every acknowledged row is kept, and the
    next writer throws the torn spare away."""
    path = tmp_path / "r.h5"
    proc = subprocess.run(
        [sys.executable, "-c", SPARE_KILLER, str(path), str(kill_at)], env=_env(), capture_output=True, text=True
    )
    assert proc.returncode == 9, proc.stderr
    acked = {int(x) for x in proc.stdout.split()}
    assert acked and Path(f"{path}.next").exists()  # it died with the next version half written
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "zcbench"
    _check(path, acked | {max(acked) + 1})  # the row of the commit it died in was in the journal already
    torn = Path(f"{path}.next").stat().st_ino
    with ResultStore(path, commit_every=0.0) as st:  # replays the journal: a commit through a fresh copy
        assert st._committer.copies == 1 and not Path(f"{path}.next").exists()
        assert Path(f"{path}.spare").stat().st_ino != torn
        st.append(KEY, RunInfo(), [Row(500, "a500", 500 / 7, 0.25)])
        st.append(KEY, RunInfo(), [Row(501, "a501", 501 / 7, 0.25)])
    assert not Path(f"{path}.spare").exists()
    _check(path, acked | {max(acked) + 1, 500, 501})


def test_appending_to_a_file_written_before_one_row_per_arch(tmp_path):
    """Such a file may hold an arch twice: new rows go after every stored row, none is overwritten."""
    path = tmp_path / "r.h5"
    with ResultStore(path) as st:
        st.append(KEY, RunInfo(), [Row(0, "x", 1.0, 0.1), Row(1, "y", 2.0, 0.1)])
    with h5py.File(path, "a") as f:  # "x" stored a second time, as older files could
        g = f[KEY.path]
        for c, v in (("index", 0), ("arch", "x"), ("score", 9.0), ("seconds", 0.1), ("error", "")):
            g[c].resize((3,))
            g[c][2] = v
        for c in ("val_accuracy", "test_accuracy"):
            g[c].resize((3,))
    with ResultStore(path, commit_every=0.0) as st:
        st.append(KEY, RunInfo(), [Row(2, "z", 3.0, 0.1)])
        st.append(KEY, RunInfo(), [Row(3, "w", 4.0, 0.1)])  # through the spare
    with h5py.File(path, "r") as f:
        assert f[KEY.path]["arch"].asstr()[()].tolist() == ["x", "y", "x", "z", "w"]
        assert f[KEY.path]["score"][()].tolist() == [1.0, 2.0, 9.0, 3.0, 4.0]
