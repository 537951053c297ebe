"""The YAML presets are package data: found with importlib.resources, overridable with $ZCBENCH_CONFIGS."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from zcbench import report as rep
from zcbench.errors import UsageError
from zcbench.report import presets
from zcbench.search.config import read_config

BUILTIN = {
    "protocol": {"plain", "abdelfattah2021", "suite-zero", "swap2024"},
    "paper": {"abdelfattah2021", "suite-zero", "swap2024"},
    "search": {"abdelfattah2021-nb201"},
}


@pytest.fixture
def no_user_dir(monkeypatch):
    monkeypatch.delenv(presets.ENV, raising=False)


@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_builtin_presets_through_the_resources_api(kind, no_user_dir):
    sub = presets.KINDS[kind][0]
    shipped = {Path(t.name).stem for t in (files("zcbench") / "configs" / sub).iterdir() if t.name.endswith(".yaml")}
    assert shipped >= BUILTIN[kind]
    assert set(rep.list_presets(kind)) == shipped
    for name in shipped:
        assert isinstance(presets.read_yaml(presets.find_preset(kind, name)), dict)


def test_repository_configs_is_the_package_data():
    root = Path(__file__).resolve().parents[1]
    link = root / "configs"
    assert link.is_symlink() and os.readlink(link) == "zcbench/configs"  # relative: works in any checkout
    shipped = root / "zcbench" / "configs" / "protocols" / "plain.yaml"
    assert (link / "protocols" / "plain.yaml").read_text() == shipped.read_text()


def test_user_directory_wins_then_builtins(tmp_path, monkeypatch):
    (tmp_path / "protocols").mkdir()
    (tmp_path / "search").mkdir()
    (tmp_path / "protocols" / "mine.yaml").write_text("target: test\nsign: abs\n")
    (tmp_path / "protocols" / "swap2024.yaml").write_text("target: test\n")
    (tmp_path / "search" / "quick.yaml").write_text("budget: 7\n")
    monkeypatch.setenv(presets.ENV, str(tmp_path))
    mine = rep.load_protocol("mine")
    assert (mine.name, mine.target, mine.sign) == ("mine", "test", "abs")
    assert rep.load_protocol("swap2024").target == "test"  # the user's copy shadows the built-in (val)
    assert rep.load_protocol("suite-zero").sample_size == 1000  # built-ins still found
    assert set(rep.list_presets("protocol")) == BUILTIN["protocol"] | {"mine"}
    assert read_config("quick") == {"budget": 7}
    assert read_config("abdelfattah2021-nb201")["budget"] == 300


def test_lookup_errors_are_one_line(tmp_path, no_user_dir):
    with pytest.raises(UsageError, match=r"unknown protocol 'nope' \(known: abdelfattah2021, plain"):
        rep.load_protocol("nope")
    with pytest.raises(UsageError, match="does not exist"):
        rep.load_paper(str(tmp_path / "missing.yaml"))
    with pytest.raises(UsageError, match="unknown protocol"):
        rep.load_protocol("../protocols/plain")  # a bare name never walks out of the preset directory
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(UsageError, match="not a YAML mapping"):
        rep.load_protocol(str(bad))
    with pytest.raises(UsageError, match="search config 'nope'"):
        read_config("nope")


def test_report_imports_no_torch():
    root = Path(__file__).resolve().parents[1]
    code = "import sys, zcbench.report; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
