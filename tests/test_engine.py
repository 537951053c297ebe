"""The scoring engine: determinism across workers/resume, kill -9, Ctrl-C, worker faults, shards.

Everything runs on NB201 with data-free proxies and synthetic inputs, so no data is needed; runs
that must be killed go through a subprocess, the rest call ``run_scoring`` in-process.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from zcbench.cli import main
from zcbench.engine import Interrupted, resolve_devices, run_scoring, shard_of
from zcbench.engine import worker as engine_worker
from zcbench.errors import StoreError, UsageError
from zcbench.settings import ArchSelection, Execution, RunSettings, parse_shard
from zcbench.spaces import get_space
from zcbench.store import coverage, iter_runs
from zcbench.store.merge import merge_results
from zcbench.testing.inject import CRASH_ENV, CRASH_ONCE_ENV, SLEEP_ENV, SLEEP_SECONDS_ENV, FaultyWorkerCore

PROXIES = ["params", "flops", "synflow"]
N_ARCHS = 24
REPO = Path(__file__).resolve().parents[1]


def _scores(path: Path) -> dict[str, dict[str, tuple[float, str]]]:
    """{proxy: {arch: (score, error)}}; fails on a duplicated arch (resume must not re-add rows)."""
    out: dict[str, dict[str, tuple[float, str]]] = {}
    for attrs, cols in iter_runs(path):
        archs = cols["arch"].tolist()
        assert len(archs) == len(set(archs)), f"duplicate rows in {attrs['proxy']}"
        out[attrs["proxy"]] = {a: (float(s), str(e)) for a, s, e in zip(archs, cols["score"], cols["error"])}
    return out


def _bit_equal(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a.hex() == b.hex()


def _assert_same(got: dict, ref: dict, except_archs: set[str] = frozenset()) -> None:
    assert set(got) == set(ref)
    for proxy in ref:
        want = {a: v for a, v in ref[proxy].items() if a not in except_archs}
        have = {a: v for a, v in got[proxy].items() if a not in except_archs}
        assert set(have) == set(want), proxy
        for arch, (s, err) in want.items():
            assert err == "" and have[arch][1] == "", (proxy, arch, have[arch])
            assert _bit_equal(have[arch][0], s), (proxy, arch, have[arch][0], s)


@pytest.fixture(scope="module")
def archs_file(tmp_path_factory) -> Path:
    archs = get_space("nb201").sample(N_ARCHS, 7)
    p = tmp_path_factory.mktemp("archs") / "archs.txt"
    p.write_text("\n".join(archs) + "\n")
    return p


@pytest.fixture(scope="module")
def archs(archs_file) -> list[str]:
    return archs_file.read_text().split()


def _run(out: Path, archs_file: Path, workers=0, proxies=PROXIES, synthetic=True, retry_failed=False, **execution):
    settings = RunSettings("nb201", "cifar10", tuple(proxies), synthetic=synthetic)
    return run_scoring(
        settings, ArchSelection(archs_file=str(archs_file)), Execution(workers=workers, quiet=True, **execution),
        out=str(out), retry_failed=retry_failed,
    )  # fmt: skip


@pytest.fixture
def faulty(monkeypatch):
    """Workers that crash or hang where the ZCBENCH_TEST_* variables say (zcbench.testing.inject)."""
    monkeypatch.setattr(engine_worker, "DEFAULT_CORE", FaultyWorkerCore)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, archs_file) -> dict:
    """An uninterrupted in-process run: what every other way of scoring must reproduce bit for bit."""
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    s = _run(out, archs_file, workers=0)
    assert s.scored == N_ARCHS and s.failed == 0
    ref = _scores(out)
    assert all(len(v) == N_ARCHS for v in ref.values())
    return ref


@pytest.mark.slow
def test_one_and_two_workers_equal_serial(tmp_path, archs_file, reference):
    s1 = _run(tmp_path / "w1.h5", archs_file, workers=1)
    s2 = _run(tmp_path / "w2.h5", archs_file, workers=2)
    assert s1.scored == s2.scored == N_ARCHS
    _assert_same(_scores(tmp_path / "w1.h5"), reference)
    _assert_same(_scores(tmp_path / "w2.h5"), reference)
    # a second run resumes: nothing recomputed, nothing duplicated
    again = _run(tmp_path / "w2.h5", archs_file, workers=2)
    assert again.scored == 0 and again.cached == N_ARCHS
    _assert_same(_scores(tmp_path / "w2.h5"), reference)


def _env(**extra: str) -> dict[str, str]:
    """The subprocess must run this checkout, whatever ``pip install -e`` points at."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return dict(os.environ, PYTHONPATH=path, **extra)


def _cli(archs_file: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "zcbench.testing.inject",  # the CLI with the fault-injecting worker core
        "score",
        "--space",
        "nb201",
        "--archs",
        str(archs_file),
        "--synthetic",
        "--quiet",
        "--out",
        str(out),
        *sum((["--proxy", p] for p in PROXIES), []),
        *extra,
    ]


def _journal_rows(out: Path) -> int:
    j = Path(str(out) + ".journal")
    return j.read_text().count("\n") if j.exists() else 0


def _wait_for_rows(proc, out: Path, n: int, limit: float = 60.0) -> None:
    t0 = time.monotonic()
    while _journal_rows(out) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < limit, "run made no progress"
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` from /proc (no psutil needed)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        st = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return st != "Z"


@pytest.mark.slow
def test_kill9_parent_mid_run_then_resume(tmp_path, archs_file, archs, reference):
    out = tmp_path / "k.h5"
    env = _env(**{SLEEP_ENV: archs[-1], SLEEP_SECONDS_ENV: "60"})  # the run cannot finish first
    proc = subprocess.Popen(
        _cli(archs_file, out, "--workers", "1"), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _wait_for_rows(proc, out, 3)
    t0 = time.monotonic()
    while not out.exists():  # the first commit (after the first rows) may take a while on a loaded machine
        assert proc.poll() is None and time.monotonic() - t0 < 60, "no results file"
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 1.0))  # a random moment while results keep arriving
    kids = _children(proc.pid)
    assert kids, "the run should have spawned a worker"
    proc.kill()
    proc.wait()
    if out.exists():  # the last committed file opens (a kill during the first commit leaves the journal alone)
        with h5py.File(out, "r") as f:
            assert f.attrs["format"] == "zcbench"
    t0 = time.monotonic()
    while any(_alive(k) for k in kids):  # orphaned workers notice their parent is gone
        assert time.monotonic() - t0 < 90, "worker outlived its killed parent"
        time.sleep(0.2)
    partial = _scores(out)
    assert 0 < len(partial["params"]) < N_ARCHS
    s = _run(out, archs_file, workers=1)
    assert s.cached >= 1 and s.scored + s.cached == N_ARCHS
    _assert_same(_scores(out), reference)


@pytest.mark.slow
def test_sigint_saves_and_exits_130_then_resume(tmp_path, archs_file, archs, reference):
    out = tmp_path / "i.h5"
    env = _env(**{SLEEP_ENV: archs[-1], SLEEP_SECONDS_ENV: "60"})
    proc = subprocess.Popen(
        _cli(archs_file, out, "--workers", "1"),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_rows(proc, out, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    last = err.strip().splitlines()[-1]
    assert "interrupted (SIGINT)" in last and "resume" in last and "Traceback" not in err
    assert not Path(str(out) + ".journal").exists()  # everything finished was committed on the way out
    done = _scores(out)
    assert 0 < len(done["synflow"]) < N_ARCHS
    _run(out, archs_file, workers=0)
    _assert_same(_scores(out), reference)


def test_sigint_serial_path(tmp_path, archs_file, archs, reference):
    out = tmp_path / "s.h5"
    # no worker: the sleep hook does not run in-process, so slow the run down with many archs instead
    proc = subprocess.Popen(
        _cli(archs_file, out), env=_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_rows(proc, out, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    _run(out, archs_file, workers=0)
    _assert_same(_scores(out), reference)


@pytest.mark.slow
def test_worker_crash_is_retried_once(tmp_path, monkeypatch, faulty, archs_file, archs, reference):
    marker = tmp_path / "crashed-once"
    monkeypatch.setenv(CRASH_ENV, archs[5])
    monkeypatch.setenv(CRASH_ONCE_ENV, str(marker))
    s = _run(tmp_path / "c.h5", archs_file, workers=1)
    assert marker.exists()  # the worker really died on that arch
    assert s.scored == N_ARCHS and s.failed == 0
    _assert_same(_scores(tmp_path / "c.h5"), reference)


@pytest.mark.slow
def test_repeated_crash_and_timeout_are_recorded(tmp_path, monkeypatch, faulty, archs_file, archs, reference):
    crash, slow = archs[3], archs[10]
    monkeypatch.setenv(CRASH_ENV, crash)
    monkeypatch.setenv(SLEEP_ENV, slow)
    monkeypatch.setenv(SLEEP_SECONDS_ENV, "120")
    out = tmp_path / "f.h5"
    t0 = time.monotonic()
    s = _run(out, archs_file, workers=2, timeout=12)  # generous: a loaded 2-core CI box must not time out a normal arch
    assert time.monotonic() - t0 < 100
    assert s.scored == N_ARCHS and s.failed == 2
    got = _scores(out)
    _assert_same(got, reference, except_archs={crash, slow})
    for proxy in PROXIES:
        score, err = got[proxy][crash]
        assert math.isnan(score) and err == "worker exited with code 1 (2 times)"
        score, err = got[proxy][slow]
        assert math.isnan(score) and err == "timeout after 12s"
    cov = {c.proxy: c for c in coverage(out)}
    assert cov["synflow"].done == N_ARCHS - 2 and cov["synflow"].failed == 2 and cov["synflow"].missing == 0
    res = CliRunner().invoke(main, ["status", str(out)])
    assert res.exit_code == 0, res.output
    assert "timeout after 12s" in res.output and "worker exited with code 1 (2 times)" in res.output
    # failed archs count as done on resume (their reason is kept); --retry-failed scores only them again
    monkeypatch.delenv(CRASH_ENV)
    monkeypatch.delenv(SLEEP_ENV)
    assert _run(out, archs_file, workers=0).scored == 0
    again = _run(out, archs_file, workers=0, retry_failed=True)
    assert (again.scored, again.retried, again.failed) == (2, 2, 0)
    _assert_same(_scores(out), reference)  # the failed rows were replaced, nothing duplicated


def test_foreign_or_corrupt_out_is_refused_untouched(tmp_path, archs_file):
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(500))
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = [1, 2, 3]
    for path in (corrupt, foreign):
        before = path.read_bytes()
        res = CliRunner().invoke(
            main,
            [
                "score",
                "--space",
                "nb201",
                "--archs",
                str(archs_file),
                "--proxy",
                "params",
                "--synthetic",
                "--quiet",
                "--out",
                str(path),
            ],
        )
        assert res.exit_code == 2, res.output
        assert res.output.count("\n") == 1 and "zcbench: error:" in res.output
        assert path.read_bytes() == before
        assert not Path(str(path) + ".journal").exists()
        with pytest.raises(StoreError):
            merge_results([str(archs_file.parent / "none.h5")], path)
        assert path.read_bytes() == before


def test_shard_and_merge_equal_single_run(tmp_path, archs_file, archs, reference):
    parts = []
    for i in range(3):
        p = tmp_path / f"shard{i}.h5"
        s = _run(p, archs_file, workers=0, shard=f"{i}/3")
        assert s.shard == (i, 3)
        parts.append(p)
    sets = [set(_scores(p)["params"]) for p in parts]
    assert sum(len(x) for x in sets) == N_ARCHS and set().union(*sets) == set(archs)
    assert all(sets), "a 24-arch list should give every one of 3 shards some work"
    merged = tmp_path / "merged.h5"
    res = CliRunner().invoke(main, ["merge", *map(str, parts), "-o", str(merged)])
    assert res.exit_code == 0, res.output
    _assert_same(_scores(merged), reference)
    # merging again adds nothing
    counts = merge_results([str(p) for p in parts], merged)
    assert counts["rows"] == 0 and counts["duplicates"] == 3 * N_ARCHS
    _assert_same(_scores(merged), reference)


def test_shard_assignment_depends_only_on_the_arch(archs):
    assert [shard_of(a, 4) for a in archs] == [shard_of(a, 4) for a in list(archs)]
    assert {a: shard_of(a, 4) for a in reversed(archs)} == {a: shard_of(a, 4) for a in archs}
    assert len({shard_of(a, 4) for a in archs}) > 1
    assert parse_shard("1/4") == (1, 4) and parse_shard(None) is None
    for bad in ("4/4", "1", "a/b", "0/0", "-1/3"):
        with pytest.raises(UsageError):
            parse_shard(bad)


def test_devices(tmp_path, archs_file):
    assert resolve_devices("cpu") == ["cpu"]
    for bad in ("gpu", "cuda:x", "cuda,cuda:0", ""):
        with pytest.raises(UsageError):
            resolve_devices(bad)
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present: the no-CUDA message cannot be checked here")
    for spec in ("cuda", "cuda:0", "cuda:0,cuda:1"):
        with pytest.raises(UsageError, match="CUDA is not available"):
            resolve_devices(spec)
    res = CliRunner().invoke(
        main,
        [
            "score",
            "--space",
            "nb201",
            "--archs",
            str(archs_file),
            "--proxy",
            "params",
            "--synthetic",
            "--device",
            "cuda:0",
            "--out",
            str(tmp_path / "x.h5"),
        ],
    )
    assert res.exit_code == 2 and "CUDA is not available" in res.output
    assert not (tmp_path / "x.h5").exists()
    with pytest.raises(UsageError, match="--timeout needs worker"):
        _run(tmp_path / "y.h5", archs_file, workers=0, timeout=5)


def test_bench_engine_rows(tmp_path):
    from zcbench.engine.bench_engine import engine_throughput, format_throughput

    rows = engine_throughput(RunSettings("nb201", proxies=("params",), synthetic=True), n_archs=3, workers=[0, 1])
    assert [r.workers for r in rows] == [0, 1]
    assert all(r.archs == 3 and r.archs_per_s > 0 for r in rows)
    table = format_throughput(rows)
    assert table.splitlines()[0].split()[:4] == ["workers", "archs", "seconds", "arch/s"]
    assert set(table.splitlines()[1].replace(" ", "")) == {"-"}  # the shared formatter's rule under the header
    assert len(table.splitlines()) == 2 + len(rows)


@pytest.mark.slow
def test_ray_executor_matches_reference(tmp_path, monkeypatch, faulty, archs_file, archs, reference):
    pytest.importorskip("ray")
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])  # Ray's workers must import this checkout
    marker = tmp_path / "ray-crashed-once"
    monkeypatch.setenv(CRASH_ENV, archs[2])
    monkeypatch.setenv(CRASH_ONCE_ENV, str(marker))
    out = tmp_path / "ray.h5"
    s = _run(out, archs_file, workers=2, executor="ray")
    assert s.scored == N_ARCHS and s.failed == 0
    assert marker.exists()
    _assert_same(_scores(out), reference)


def test_interrupted_is_exit_130():
    assert Interrupted("x").exit_code == 130


def test_worker_startup_error_is_one_line(tmp_path, monkeypatch, archs_file):
    from zcbench.errors import DataError

    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    with pytest.raises(DataError, match="needs cifar10 images"):  # raised in the worker, re-raised here
        _run(tmp_path / "d.h5", archs_file, proxies=["snip"], synthetic=False, workers=1)
