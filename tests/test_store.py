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
