"""The reproduction targets: visible commands (make -n) and a clear stop when data is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TARGETS = [
    "reproduce-abdelfattah-nb201",
    "reproduce-abdelfattah-nb201-samsung",
    "reproduce-abdelfattah-nb101",
    "reproduce-suite-zero",
    "reproduce-swap",
]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


@pytest.mark.parametrize("target", TARGETS)
def test_dry_run_shows_score_correlate_plot(target, tmp_path):
    p = subprocess.run(
        ["make", "-n", target, f"DATA={tmp_path}/data", f"REPORTS={tmp_path}/reports", "DEVICE=cpu", "WORKERS=1"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    for cmd in ("zcbench score", "zcbench correlate", "--paper", "zcbench plot", "environment.txt"):
        assert cmd in p.stdout, cmd


@pytest.mark.parametrize(
    "target", ["reproduce-abdelfattah-nb201", "reproduce-abdelfattah-nb201-samsung", "reproduce-swap"]
)
def test_missing_data_stops_with_download_instructions(target, tmp_path):
    p = subprocess.run(
        ["make", "-s", target, f"DATA={tmp_path}/data", f"REPORTS={tmp_path}/reports", "DEVICE=cpu", "WORKERS=1"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "NAS-Bench-201" in out and "download" in out and "data/README.md" in out
    # one command fetches everything the target needs (tests/test_download.py checks the list itself)
    assert f"zcbench download --for {target} --to {tmp_path}/data" in out
    assert "zcbench download nb201-v1_0" in out  # and each missing file names its catalog entry
    assert not (tmp_path / "reports").exists(), "a failed check leaves no (empty) report folder"


def test_search_target_scores_then_searches(tmp_path):
    """The search reproduction scores synflow on the dump (data-free: no image set is asked for), then
    runs ``zcbench search`` with the paper's preset, writing the table, the curves and their plot."""
    args = [f"DATA={tmp_path}/data", f"REPORTS={tmp_path}/reports", "DEVICE=cpu", "WORKERS=1"]
    p = subprocess.run(["make", "-n", "reproduce-abdelfattah-search", *args], cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for cmd in (
        "zcbench score --space nb201",
        "--proxy synflow",
        "zcbench search",
        "--config abdelfattah2021-nb201",
        "--curves",
        "--plot",
        "environment.txt",
    ):
        assert cmd in p.stdout, cmd
    assert "cifar-100-python" not in p.stdout
    p = subprocess.run(["make", "-s", "reproduce-abdelfattah-search", *args], cwd=REPO, capture_output=True, text=True)
    assert p.returncode != 0 and "NAS-Bench-201" in p.stdout + p.stderr
    assert not (tmp_path / "reports").exists()


def test_install_keeps_an_installed_torch_and_picks_the_cpu_build_otherwise(tmp_path):
    """`make demo`/`make test` on a CPU machine must not pull the CUDA wheel, nor reinstall a torch that is there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}  # no nvidia-smi on this PATH
    p = subprocess.run(["make", "-n", "install", "PYTHON=python3"], cwd=REPO, capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    torch_line = p.stdout.splitlines()[0]
    assert 'import torch" 2>/dev/null && echo "torch already installed: keeping it"' in torch_line
    assert "install torch --index-url https://download.pytorch.org/whl/cpu" in torch_line
    assert "--force-reinstall" not in p.stdout and "--upgrade" not in p.stdout
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    p = subprocess.run(["make", "-n", "install", "PYTHON=python3"], cwd=REPO, capture_output=True, text=True, env=env)
    assert "install torch" in p.stdout and "download.pytorch.org/whl/cpu" not in p.stdout  # a GPU: PyPI's CUDA wheel


@pytest.mark.parametrize(
    "target, needs, commands",
    [
        (
            "reproduce-suite-zero-predict",
            "zc_nasbench201.json",
            ["zcbench import naslib", "zcbench predict", "--config suite-zero-xgb", "--plot", "environment.txt"],
        ),
        (
            "reproduce-prenas-nb201",
            "NAS-Bench-201",
            [
                "zcbench score --space nb201",
                "--proxy params",
                "zcbench search",
                "--config prenas2022-nb201",
                "--dump",
                "--curves",
                "environment.txt",
            ],
        ),  # fmt: skip
    ],
)
def test_predictor_targets_show_their_commands_and_stop_without_data(target, needs, commands, tmp_path):
    """The Suite-Zero predictor and PRE-NAS reproductions: every command visible with make -n; without the
    file they need, one stop naming it and how to download it, and no results left behind."""
    args = [f"DATA={tmp_path}/data", f"REPORTS={tmp_path}/reports", "DEVICE=cpu", "WORKERS=1"]
    p = subprocess.run(["make", "-n", target, *args], cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for cmd in commands:
        assert cmd in p.stdout, cmd
    assert "cifar-10-batches-py" not in p.stdout and "cifar-100-python" not in p.stdout  # no image set needed
    p = subprocess.run(["make", "-s", target, *args], cwd=REPO, capture_output=True, text=True)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and needs in out and f"zcbench download --for {target}" in out
    assert not (tmp_path / "reports" / target / "results.h5").exists()


@pytest.mark.parametrize(("gpus", "cores", "workers"), [(2, 16, 4), (2, 4, 2), (0, 16, 1)])
def test_workers_per_gpu_on_a_gpu_machine(tmp_path, gpus, cores, workers):
    """DEVICE and WORKERS as the targets pick them on a (faked) machine with GPUs: several workers per GPU,
    at most one core each; one on a CPU-only machine."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os, torch\n"
        f"torch.cuda.device_count = lambda: {gpus}\n"
        f"torch.cuda.is_available = lambda: {gpus} > 0\n"
        f"os.cpu_count = lambda: {cores}\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")]))
    p = subprocess.run(
        ["make", "-n", "reproduce-swap", f"DATA={tmp_path}/data", f"REPORTS={tmp_path}/reports"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert p.returncode == 0, p.stderr
    device = "cuda" if gpus else "cpu"
    assert f"--device {device} --workers {workers} " in p.stdout
