"""The CUDA path without a GPU (issue #16): devices, pinning, numerics, identity, dead contexts, memory fit.

``torch.cuda`` is faked — in this process with ``monkeypatch``, in spawned workers and Ray actors by
:class:`zcbench.testing.inject.FakeCudaCore` (GPUs named by ``$ZCBENCH_TEST_FAKE_GPUS``), which runs the
real device start-up (numerics, the CUDA context, the identity), records what it saw and scores instantly.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path

import h5py
import pytest
import torch
from click.testing import CliRunner

from zcbench.cli import main
from zcbench.engine import resolve_devices, run_scoring
from zcbench.engine.devices import check_device_spec, local_device, worker_env
from zcbench.engine.fleet import check_fit
from zcbench.engine.gpu import DeviceLost, check_context, open_device, pin_numerics, restore_numerics
from zcbench.errors import EngineError, StoreError, UsageError
from zcbench.settings import ArchSelection, Execution, RunSettings
from zcbench.spaces import get_space
from zcbench.store import RunInfo, identity_conflict, iter_runs
from zcbench.testing import inject
from zcbench.testing.inject import FakeCudaCore

REPO = Path(__file__).resolve().parents[1]
GIB = 2**30
A100, H200 = "NVIDIA A100-SXM4-80GB@8.0", "NVIDIA H200@9.0"


@pytest.fixture(scope="module")
def archs() -> list[str]:
    return get_space("nb201").sample(12, 3)


@pytest.fixture
def gpus(monkeypatch, tmp_path):
    """Two faked GPUs in this process (the parent counts them) and in every worker it starts."""

    def use(*names: str, memory: str = "1,79,80") -> Path:
        monkeypatch.setenv(inject.FAKE_GPUS_ENV, ",".join(names))
        monkeypatch.setenv(inject.FAKE_MEMORY_ENV, memory)
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        record = tmp_path / f"record-{len(names)}-{names[0].split('@')[0].replace(' ', '_')}.jsonl"
        record.unlink(missing_ok=True)
        monkeypatch.setenv(inject.RECORD_ENV, str(record))
        inject.fake_cuda(monkeypatch.setattr)
        return record

    return use


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _score(out: Path, archs, device="cuda", workers=1, allow_mixed=False, **execution):
    return run_scoring(
        RunSettings("nb201", "cifar10", ("params", "synflow"), synthetic=True),
        ArchSelection(archs=tuple(archs)),
        Execution(device=device, workers=workers, quiet=True, **execution),
        out=out, allow_mixed=allow_mixed, core_cls=FakeCudaCore,
    )  # fmt: skip


def _attrs(out: Path) -> list[dict]:
    return [attrs for attrs, _ in iter_runs(out)]


# -- devices ------------------------------------------------------------------------------------------------
def test_device_specs_are_normalised_and_deduplicated():
    assert check_device_spec("cuda:01") == ["cuda:1"]
    assert check_device_spec("cuda:1,cuda:1") == ["cuda:1"]
    assert check_device_spec(" CUDA:0 , cuda:002,cuda:0") == ["cuda:0", "cuda:2"]
    assert check_device_spec("cpu") == ["cpu"] and check_device_spec("cuda") == ["cuda"]
    for bad in ("gpu", "cuda:-1", "cuda:1x", "cuda,cuda:0", "cpu,cuda:0", "", " , "):
        with pytest.raises(UsageError) as e:
            check_device_spec(bad)
        assert "\n" not in str(e.value)
    res = CliRunner().invoke(main, ["score", "--space", "nb201", "--proxy", "params", "--device", "cuda:zero"])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "cuda:zero" in res.output


def test_devices_resolved_against_the_gpus_counted(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_devices("cuda") == ["cuda:0", "cuda:1"]
    assert resolve_devices("cuda:01,cuda:1,cuda:0") == ["cuda:1", "cuda:0"]
    with pytest.raises(UsageError, match=r"only 2 GPU\(s\) visible"):
        resolve_devices("cuda:2")


def test_worker_env_pins_one_gpu_and_the_thread_pools(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    env = worker_env("cuda:1", 3)
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and local_device("cuda:1") == "cuda:0"
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "3"
    assert env["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")  # the parent's own list renumbers the GPUs
    assert worker_env("cuda:1", 1)["CUDA_VISIBLE_DEVICES"] == "6"
    cpu = worker_env("cpu", 1)
    assert "CUDA_VISIBLE_DEVICES" not in cpu and local_device("cpu") == "cpu"


@pytest.mark.slow
def test_local_workers_each_see_only_their_gpu(gpus, monkeypatch, tmp_path, archs):
    from zcbench.engine import local

    record = gpus(A100, A100)
    spawned: list[tuple[str, str]] = []
    real_start = local.LocalPool._start

    def start(self, device):
        with local.environment(local.worker_env(device, 1)):
            spawned.append((device, os.environ["CUDA_VISIBLE_DEVICES"]))
        return real_start(self, device)

    monkeypatch.setattr(local.LocalPool, "_start", start)
    monkeypatch.setenv(inject.SCORE_SECONDS_ENV, "0.2")  # the first worker's first result starts the others
    out = tmp_path / "r.h5"
    s = _score(out, archs, device="cuda", workers=2)
    assert s.scored == len(archs) and s.failed == 0 and s.peak_memory == GIB
    assert Counter(spawned) == {("cuda:0", "0"): 2, ("cuda:1", "1"): 2}  # 2 workers per GPU, each sees its own
    seen = _records(record)  # the workers that started before the work ran out
    assert {r["env"]["CUDA_VISIBLE_DEVICES"] for r in seen} == {"0", "1"}
    for r in seen:
        assert r["device"] == "cuda:0" and r["set_device"] == ["cuda:0"]  # its one visible GPU
        assert r["env"]["OMP_NUM_THREADS"] == r["env"]["OPENBLAS_NUM_THREADS"] == "1" and r["threads"] == 1
        assert r["blas_threads"] == [1]  # numpy's BLAS pool, sized before it loaded
        assert r["env"]["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert r["cudnn_tf32"] is False and r["matmul_tf32"] is False  # TF32 off in every worker
        assert r["deterministic"] is True and r["cudnn_deterministic"] is True
    for attrs in _attrs(out):  # the run names the physical devices and records what the workers saw
        assert attrs["device"] == "cuda:0,cuda:1" and attrs["gpu"] == "NVIDIA A100-SXM4-80GB"
        assert attrs["capability"] == "8.0" and attrs["tf32"] == "off"
        assert attrs["cuda"] == str(torch.version.cuda) and attrs["cudnn"] == str(torch.backends.cudnn.version())


@pytest.mark.slow
def test_ray_actors_take_fractional_gpus(gpus, monkeypatch, tmp_path, archs):
    ray = pytest.importorskip("ray")
    record = gpus(A100, A100)
    ray.init(num_gpus=2, num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        s = _score(tmp_path / "ray.h5", archs, device="cuda", workers=2, executor="ray")
    finally:
        ray.shutdown()
    assert s.scored == len(archs) and s.failed == 0
    seen = _records(record)
    assert Counter(r["env"]["CUDA_VISIBLE_DEVICES"] for r in seen) == {"0": 2, "1": 2}  # 2 actors on each GPU
    assert all(r["cudnn_tf32"] is False and r["deterministic"] is True for r in seen)
    assert {a["gpu"] for a in _attrs(tmp_path / "ray.h5")} == {"NVIDIA A100-SXM4-80GB"}


# -- numerics -----------------------------------------------------------------------------------------------
def test_in_process_numerics_are_pinned_then_given_back(gpus, monkeypatch, tmp_path, archs):
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})

    record = gpus(A100)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)  # torch's default
    before = (torch.backends.cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled())
    with threadpool_limits(limits=2):  # the caller's own pool, larger than a worker's
        blas_before = blas_threads()
        s = _score(tmp_path / "r.h5", archs[:2], device="cuda:0", workers=0)
        blas_after = blas_threads()
    assert s.scored == 2 and blas_before == blas_after == [2]
    (seen,) = _records(record)
    assert seen["cudnn_tf32"] is False and seen["matmul_tf32"] is False and seen["deterministic"] is True
    assert seen["threads"] == 1 and seen["blas_threads"] == [1]  # in-process too: the workers' thread count
    assert (torch.backends.cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled()) == before


@pytest.mark.slow
def test_pinned_numerics_leave_cpu_scores_bit_identical(tmp_path):
    """TF32 off and deterministic algorithms change nothing on a CPU: scores computed in a fresh process
    without them are bit-equal to scores computed with them."""
    code = (
        "import json, sys, torch\n"
        "torch.set_num_threads(1)\n"
        "from zcbench.settings import RunSettings\n"
        "from zcbench.engine.scorer import ArchScorer\n"
        "from zcbench.spaces import get_space\n"
        "if sys.argv[1] == 'pin':\n"
        "    from zcbench.engine.gpu import pin_numerics; pin_numerics()\n"
        "s = RunSettings('nb201', 'cifar10', ('synflow', 'snip', 'grad_norm', 'nwot', 'jacov', 'fisher'),\n"
        "                synthetic=True, batch_size=8).validated()\n"
        "sc = ArchScorer(s, 'cpu')\n"
        "a = get_space('nb201').sample(1, 5)[0]\n"
        "print(json.dumps({p: float(v[0]).hex() for p, v in sc.score(a, list(s.proxies)).items()}))\n"
    )
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    got = {}
    for mode in ("plain", "pin"):
        res = subprocess.run([sys.executable, "-c", code, mode], env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        got[mode] = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["plain"] == got["pin"] and len(got["pin"]) == 6


def test_pin_numerics_sets_and_restore_gives_back():
    before = pin_numerics()
    try:
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    finally:
        restore_numerics(before)
    assert torch.are_deterministic_algorithms_enabled() == before["deterministic"]


# -- identity -----------------------------------------------------------------------------------------------
def _cuda_info(**hw) -> RunInfo:
    base = {"gpu": "NVIDIA H200", "capability": "9.0", "cuda": "12.4", "cudnn": "90100", "tf32": "off"}
    return RunInfo(device="cuda:0", versions={"zcbench": "1", "torch": "2"}, hardware=base | hw)


def test_identity_conflicts_between_gpus_and_libraries():
    stored = _cuda_info().attrs()
    assert identity_conflict(stored, _cuda_info()) is None
    why = identity_conflict(stored, _cuda_info(gpu="NVIDIA A100-SXM4-80GB", capability="8.0"))
    assert why == (
        "it was computed on NVIDIA H200 (compute capability 9.0), this on NVIDIA A100-SXM4-80GB "
        "(compute capability 8.0) (--ignore-versions to allow)"
    )
    assert "cuDNN 90100, this with 8902" in identity_conflict(stored, _cuda_info(cudnn="8902"))
    assert "CUDA 12.4, this with 12.1" in identity_conflict(stored, _cuda_info(cuda="12.1"))
    assert "TF32 off, this with on" in identity_conflict(stored, _cuda_info(tf32="on"))
    assert identity_conflict(stored, _cuda_info(gpu="other"), allow_mixed=True) is None
    # a CUDA run stored before the GPU was recorded (TF32 was on): neither side joins the other silently
    old_cuda = {"device": "cuda:0", "zcbench": "1", "torch": "2", "truth": "none"}
    assert "before zcbench recorded the GPU model" in identity_conflict(old_cuda, _cuda_info())
    assert "before zcbench recorded" in identity_conflict(stored, RunInfo(device="cuda:0"))
    assert identity_conflict(old_cuda, _cuda_info(), hardware=False) is None  # the planner: before workers report
    # CPU runs: no hardware on either side, the identity is what it always was
    old_cpu = {"device": "cpu", "zcbench": "1", "torch": "2", "truth": "none", "data_id": ""}
    assert identity_conflict(old_cpu, RunInfo(device="cpu", versions={"zcbench": "1", "torch": "2"})) is None
    assert "computed on cpu, this on cuda" in identity_conflict(old_cpu, _cuda_info())
    assert RunInfo.from_attrs(stored).hardware == _cuda_info().hardware


@pytest.mark.slow
def test_runs_from_different_gpu_models_never_join(gpus, tmp_path, archs):
    out = tmp_path / "r.h5"
    gpus(H200)
    assert _score(out, archs[:4], device="cuda:0").scored == 4
    before = out.read_bytes()
    gpus(A100)
    with pytest.raises(StoreError, match=r"computed on NVIDIA H200 \(compute capability 9.0\), this on NVIDIA A100"):
        _score(out, archs[:8], device="cuda:0")
    assert out.read_bytes() == before and not Path(f"{out}.journal").exists()  # refused before any row
    s = _score(out, archs[:8], device="cuda:0", allow_mixed=True)  # --ignore-versions
    assert s.scored == 4 and s.cached == 4
    assert {a["gpu"] for a in _attrs(out)} == {"NVIDIA H200"}  # the run keeps its first identity


@pytest.mark.slow
def test_two_gpu_models_cannot_score_one_run(gpus, monkeypatch, tmp_path, archs):
    gpus(H200, A100)
    monkeypatch.setenv(inject.SCORE_SECONDS_ENV, "1")  # the second worker reports before the first is done
    with pytest.raises(StoreError, match="cuda:. and cuda:. cannot score one run: cuda:. is NVIDIA"):
        _score(tmp_path / "r.h5", archs, device="cuda", workers=1)


@pytest.mark.slow
def test_old_files_keep_working(gpus, tmp_path, archs):
    """A CPU run stored without the new attributes resumes as before; a CUDA run stored without them (TF32
    was on then) is not continued on a GPU silently."""
    cpu = tmp_path / "cpu.h5"
    settings = RunSettings("nb201", "cifar10", ("params",), synthetic=True)
    run_scoring(settings, ArchSelection(archs=tuple(archs[:3])), Execution(quiet=True), out=cpu)
    assert all(not set(a) & {"gpu", "capability", "cuda", "cudnn", "tf32"} for a in _attrs(cpu))
    again = run_scoring(settings, ArchSelection(archs=tuple(archs[:6])), Execution(quiet=True), out=cpu)
    assert (again.scored, again.cached) == (3, 3)
    old = tmp_path / "old-cuda.h5"
    gpus(H200)
    _score(old, archs[:2], device="cuda:0", workers=0)
    with h5py.File(old, "a") as f:  # as zcbench wrote CUDA runs before it recorded the GPU
        for attrs in _attrs(old):
            group = f[f"runs/nb201/cifar10/{attrs['proxy']}"]
            for setting in group:
                for k in ("gpu", "capability", "cuda", "cudnn", "tf32"):
                    del group[setting].attrs[k]
    with pytest.raises(StoreError, match="before zcbench recorded the GPU model"):
        _score(old, archs[:4], device="cuda:0", workers=0)
    assert _score(old, archs[:4], device="cuda:0", workers=0, allow_mixed=True).scored == 2


# -- a GPU that cannot be used, a dead context ----------------------------------------------------------------
def test_unusable_gpu_is_one_start_up_error(gpus, monkeypatch, tmp_path, archs):
    gpus(H200)
    monkeypatch.setenv(inject.BUSY_ENV, "1")
    with pytest.raises(EngineError) as e:
        open_device("cuda:0", "cuda:3")
    assert str(e.value) == f"cuda:3 cannot be used: RuntimeError: {inject.BUSY_ERROR}"
    with pytest.raises(EngineError, match=r"^cuda:0 cannot be used: .*busy or unavailable$"):
        _score(tmp_path / "r.h5", archs, device="cuda:0", workers=0)
    assert not (tmp_path / "r.h5").exists()


@pytest.mark.slow
def test_unusable_gpu_in_workers_is_one_line_exit_2(gpus, monkeypatch, tmp_path, archs):
    gpus(H200, H200)
    monkeypatch.setenv(inject.BUSY_ENV, "1")
    with pytest.raises(EngineError, match=r"^cuda:1 cannot be used: .*busy or unavailable$"):
        _score(tmp_path / "r.h5", archs, device="cuda:1", workers=2)
    assert not (tmp_path / "r.h5").exists()  # not a run of failed rows: nothing at all


def test_sticky_errors_are_told_from_ordinary_failures(monkeypatch):
    for err in (
        "RuntimeError: CUDA error: an illegal memory access was encountered",
        "RuntimeError: CUDA error: device-side assert triggered",
        "RuntimeError: CUDA error: unspecified launch failure",
    ):
        with pytest.raises(DeviceLost, match="CUDA error"):
            check_context("cuda:0", ["", err])
    check_context("cpu", ["RuntimeError: CUDA error: an illegal memory access was encountered"])  # no CUDA here
    monkeypatch.setattr(torch.cuda, "synchronize", lambda dev=None: None)
    check_context("cuda:0", ["OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", "ValueError: x"])

    def dead(dev=None):
        raise RuntimeError("CUDA error: misaligned address\nCUDA kernel errors might be asynchronously reported")

    monkeypatch.setattr(torch.cuda, "synchronize", dead)  # an error no proxy reported, found by synchronising
    with pytest.raises(DeviceLost, match="^RuntimeError: CUDA error: misaligned address$"):
        check_context("cuda:0", [""])


@pytest.mark.slow
def test_sticky_error_ends_the_worker_and_the_arch_is_retried(gpus, monkeypatch, tmp_path, archs):
    record = gpus(H200)
    marker = tmp_path / "sticky-once"
    monkeypatch.setenv(inject.STICKY_ENV, archs[3])
    monkeypatch.setenv(inject.CRASH_ONCE_ENV, str(marker))
    out = tmp_path / "r.h5"
    s = _score(out, archs, device="cuda:0", workers=1)
    assert marker.exists() and len(_records(record)) == 2  # the worker ended and was replaced
    assert s.scored == len(archs) and s.failed == 0  # the retry in a fresh context scored it
    scores = {a["proxy"]: dict(zip(c["arch"].tolist(), c["score"].tolist())) for a, c in iter_runs(out)}
    assert scores["params"][archs[3]] == inject._hash_score("params", archs[3])
    # every time: recorded as failed with the reason, the run goes on
    monkeypatch.delenv(inject.CRASH_ONCE_ENV)
    out2 = tmp_path / "r2.h5"
    s = _score(out2, archs, device="cuda:0", workers=1)
    assert s.scored == len(archs) and s.failed == 1
    errors = {a["proxy"]: dict(zip(c["arch"].tolist(), c["error"].tolist())) for a, c in iter_runs(out2)}
    assert errors["synflow"][archs[3]] == f"{inject.STICKY_ERROR} (CUDA context lost) (2 times)"
    assert all(e == "" for a, e in errors["synflow"].items() if a != archs[3])


def test_sticky_error_in_process_stops_the_run(gpus, monkeypatch, tmp_path, archs):
    gpus(H200)
    monkeypatch.setenv(inject.STICKY_ENV, archs[2])
    out = tmp_path / "r.h5"
    with pytest.raises(EngineError) as e:
        _score(out, archs, device="cuda:0", workers=0)
    msg = str(e.value)
    assert msg.startswith(f"{archs[2]}: {inject.STICKY_ERROR}: the CUDA context of this process is unusable")
    assert "(2 architectures saved)" in msg and "\n" not in msg
    stored = {a["proxy"]: c["arch"].tolist() for a, c in iter_runs(out)}
    assert stored["params"] == archs[:2]  # what finished is saved; the arch that hit it is not recorded
    monkeypatch.delenv(inject.STICKY_ENV)
    s = _score(out, archs, device="cuda:0", workers=0)  # the same command resumes
    assert (s.scored, s.cached, s.failed) == (len(archs) - 2, 2, 0)


# -- memory -------------------------------------------------------------------------------------------------
def test_check_fit():
    mem = {"peak_reserved": 30 * GIB, "free": 110 * GIB}  # room: 140 GiB
    assert check_fit("cuda:0", "NVIDIA H200", mem, 1) is None
    assert check_fit("cuda:0", "NVIDIA H200", mem, 2) is None
    assert "larger architectures may run out" in check_fit("cuda:0", "NVIDIA H200", mem, 4)
    with pytest.raises(EngineError) as e:
        check_fit("cuda:0", "NVIDIA H200", mem, 5)
    assert str(e.value) == (
        "cuda:0 (NVIDIA H200): 5 workers need about 5 x 30.0 GiB (the first architecture's peak) but 140.0 GiB "
        "is free: use --workers 4 or fewer, or a smaller --batch-size"
    )
    assert check_fit("cpu", "", {}, 8) is None


@pytest.mark.slow
def test_workers_that_do_not_fit_stop_the_run_at_start(gpus, tmp_path, archs):
    record = gpus(H200, memory="40,100,140")
    out = tmp_path / "r.h5"
    with pytest.raises(EngineError, match=r"^cuda:0 \(NVIDIA H200\): 4 workers need about 4 x 40.0 GiB .*--workers 3 "):
        _score(out, archs, device="cuda:0", workers=4)
    assert len(_records(record)) == 1  # only the measuring worker ever started
    (params,) = [c for a, c in iter_runs(out) if a["proxy"] == "params"]
    assert 1 <= len(params["arch"]) < len(archs) and not math.isnan(params["score"][0])  # its results are kept
