"""Direct tests of the small functions every command relies on (not only through the CLI): the registry,
``--option`` parsing, output checks, architecture selection and run planning."""

from __future__ import annotations

import pytest

from zcbench.engine import run_scoring
from zcbench.engine.plan import plan_run, select_archs
from zcbench.errors import UsageError
from zcbench.outputs import check_writable
from zcbench.registry import Registry
from zcbench.settings import ArchSelection, Execution, RunSettings, parse_option_items
from zcbench.spaces import get_space


# -- Registry ----------------------------------------------------------------------------------------
@pytest.fixture
def reg() -> Registry[int]:
    r: Registry[int] = Registry("thing")
    for i, name in enumerate(["synflow", "snip", "swap", "params"]):
        r.add(name, i)
    return r


def test_registry_select_names_wildcards_all_in_registry_order(reg):
    assert reg.select(["s*"]) == ["synflow", "snip", "swap"]
    assert reg.select(["params", "sn*"]) == ["params", "snip"]  # pattern order, then registry order within
    assert reg.select(["snip,params", "snip"]) == ["snip", "params"]  # comma lists, no duplicates
    assert reg.select(["all"]) == ["synflow", "snip", "swap", "params"]
    assert reg.select(["sw?p"]) == ["swap"]


def test_registry_refuses_unknown_and_duplicates(reg):
    with pytest.raises(UsageError, match=r"unknown thing 'nope' \(known: params, snip, swap, synflow\)"):
        reg.get("nope")
    with pytest.raises(UsageError, match="no thing matches 'x\\*'"):
        reg.select(["x*"])
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("snip", 9)
    reg.replace("snip", 7)
    assert reg.get("snip") == 7
    reg.remove("snip")
    assert "snip" not in reg and reg.names() == ["synflow", "swap", "params"]
    with pytest.raises(UsageError):
        reg.replace("snip", 1)


# -- parse_option_items ------------------------------------------------------------------------------
def test_parse_option_items_json_values_and_strings():
    got = parse_option_items(["a=8", "b=1e-2", "c=true", "d=hello", "e=[1, 2]", " f =x=y"])
    assert got == {"a": 8, "b": 0.01, "c": True, "d": "hello", "e": [1, 2], "f": "x=y"}


@pytest.mark.parametrize("item", ["novalue", "=3"])
def test_parse_option_items_refuses_malformed(item):
    with pytest.raises(UsageError, match="--option wants KEY=VALUE"):
        parse_option_items([item])


# -- check_writable ----------------------------------------------------------------------------------
def test_check_writable_creates_nothing(tmp_path):
    target = tmp_path / "a" / "b" / "out.h5"
    assert check_writable(target) == target
    assert list(tmp_path.iterdir()) == []  # nothing created by the check


def test_check_writable_refuses_directories_and_file_parents(tmp_path):
    with pytest.raises(UsageError, match="is a directory, expected a file for the results file"):
        check_writable(tmp_path, "results file")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is not a directory"):
        check_writable(tmp_path / "f" / "out.csv")


# -- select_archs ------------------------------------------------------------------------------------
def test_select_archs_list_sample_limit():
    space = get_space("nb201")
    a, b = space.sample(2, 0)
    assert select_archs(space, None, ArchSelection(archs=(a, b, a))) == [a, b]  # parsed, duplicates once
    s1 = select_archs(space, None, ArchSelection(sample=5), seed=3)
    assert s1 == select_archs(space, None, ArchSelection(sample=5), seed=3) and len(set(s1)) == 5
    assert select_archs(space, None, ArchSelection(sample=5, limit=2), seed=3) == s1[:2]
    assert select_archs(space, None, ArchSelection(limit=4)) == space.enumerate()[:4]


def test_select_archs_refuses_oversized_samples():
    space = get_space("nb201")
    with pytest.raises(UsageError, match="larger than nb201's 15,625 architectures"):
        select_archs(space, None, ArchSelection(sample=20000))
    a = space.sample(1, 0)[0]
    with pytest.raises(UsageError, match="larger than the 1 of the given architectures"):
        select_archs(space, None, ArchSelection(archs=(a,), sample=2))


# -- plan_run ----------------------------------------------------------------------------------------
def test_plan_run_lists_the_work_left(tmp_path):
    settings = RunSettings(space="nb201", proxies=("params", "flops"), synthetic=True)
    selection = ArchSelection(sample=3)
    out = tmp_path / "r.h5"
    plan = plan_run(settings, selection, out)
    assert len(plan.archs) == 3 and plan.n_tasks == 6
    assert all(p == ["params", "flops"] for p in plan.todo.values())
    assert plan.truth == {} and set(plan.indices.values()) == {-1}  # official indices come with a dump
    assert plan.infos["params"].truth == "none" and plan.infos["params"].data_id == ""
    assert not out.exists()  # planning writes nothing
    run_scoring(settings, ArchSelection(archs=tuple(plan.archs[:2])), Execution(quiet=True), out)
    again = plan_run(settings, selection, out)
    assert list(again.todo) == [plan.archs[2]] and again.n_tasks == 2  # only the arch not yet scored


def test_plan_run_checks_settings_before_anything(tmp_path):
    with pytest.raises(UsageError, match="--batch-size must be a positive integer"):
        plan_run(RunSettings(space="nb201", proxies=("snip",), batch_size=0, synthetic=True), None, tmp_path / "r")
    assert list(tmp_path.iterdir()) == []
