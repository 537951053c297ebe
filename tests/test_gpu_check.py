"""``scripts/gpu_check.sh``, the first command to run on a GPU: its CPU dry run passes, and its check
of bit-equality between the 1-worker and N-worker results would catch a difference."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_check.sh"


def _table_module():
    spec = importlib.util.spec_from_file_location("gpu_check_table", REPO / "scripts" / "gpu_check_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_gpu_check_cpu_dry_run(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    args = ["--device", "cpu", "--archs", "2", "--workers", "2", "--proxy", "params", "--bench-archs", "1"]
    args += ["--engine-archs", "1", "--engine-workers", "0", "--out", str(tmp_path / "out")]
    p = subprocess.run(["bash", str(SCRIPT), *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    table = (tmp_path / "out" / "gpu_check.md").read_text().splitlines()
    assert table[:2] == ["| check | result |", "|---|---|"] and len(table) == 9
    rows = dict((c.strip() for c in line.strip("|").split(" | ", 1)) for line in table[2:])
    assert rows["scores with 1 and 2 workers bit-equal"] == "yes (1 runs, 0 failed rows)"
    assert "device cpu" in rows["machine"]
    assert "0 workers:" in rows["`bench-engine`"] and "arch/s" in rows["`bench-engine`"]
    assert "ratio" in rows["`bench`, all proxies per arch"]
    assert rows["proxy seconds per arch (1 worker)"].startswith("params ")
    assert "arch/s" in rows["`score` 2 NB201 archs, 1 worker"] and "arch/s" in rows["`score` the same, 2 workers"]
    assert "| check | result |" in p.stdout  # printed too


def test_gpu_check_table_finds_differences():
    t = _table_module()
    a = {"synflow:": {"x": ("0x1.0p+0", ""), "y": ("nan", "boom")}}
    assert t.differences(a, a) == []
    b = {"synflow:": {"x": ("0x1.0000000000001p+0", ""), "y": ("nan", "boom")}}  # one bit apart
    assert t.differences(a, b) == ["synflow: x: ('0x1.0p+0', '') vs ('0x1.0000000000001p+0', '')"]
    assert t.differences(a, {}) == ["run synflow: only in one file"]
    text = "caption\n  workers  arch/s  peak MiB/worker\n---------  ------  ---------------\n  0  1.5  10.0\n"
    assert t.table_rows(text) == [{"workers": "0", "arch/s": "1.5", "peak MiB/worker": "10.0"}]
