"""``zcbench bench``: both loops give identical scores, the table shows each shared pass, the builds and
host syncs per architecture, the thread count it ran with, and the warm-up pass keeps one-off costs out of
the timings."""

from __future__ import annotations

import math

import torch
from click.testing import CliRunner

from zcbench.cli import main
from zcbench.engine.bench_proxies import BenchSettings, run_bench
from zcbench.proxies import runner
from zcbench.settings import RunSettings

PROXIES = ["params", "synflow", "grad_norm", "snip", "swap", "reg_swap"]
OPTS = {"swap_repeats": 2, "reg_swap_mu": 300.0, "reg_swap_sigma": 1e5}


def test_bench_scores_identical_and_groups_listed():
    settings = RunSettings("nb201", "cifar10", tuple(PROXIES), batch_size=4, synthetic=True, options=OPTS)
    res = run_bench(settings, BenchSettings(n_archs=1))
    assert res.mismatches == []
    assert res.n_archs == 1 and all(res.plain[p] > 0 and res.shared[p] > 0 for p in PROXIES)
    assert math.isclose(res.plain_total, sum(res.plain.values()), rel_tol=0.05)
    groups = dict(res.groups())
    assert groups["[pass 1]"] == ["grad_norm", "snip"]
    assert groups["[pass 2]"] == ["swap", "reg_swap"]
    assert groups["[alone]"] == ["params", "synflow"]
    frame = res.frame().set_index("proxy")
    assert frame.loc["ALL", "builds"] == 1.0  # one build per architecture, whatever the proxies
    assert 0 < frame.loc["ALL", "syncs"] <= 2 * len(PROXIES)
    assert frame.loc["params", "syncs"] == 0  # a parameter count reads no tensor
    table = res.table()
    assert "scores identical: yes" in table and "[pass 2]" in table
    assert table.splitlines()[-3].startswith("ALL")
    assert "torch threads 1 (as score's workers" in table.splitlines()[0]


def test_bench_pins_threads_as_score_does_and_restores_them(monkeypatch):
    seen = []
    real = runner.compute_one
    monkeypatch.setattr(
        "zcbench.engine.bench_proxies.compute_one",
        lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k),
    )
    before = torch.get_num_threads()
    monkeypatch.setenv("ZCBENCH_WORKER_THREADS", "2")
    res = run_bench(RunSettings("nb201", proxies=("params",), batch_size=2), BenchSettings(n_archs=1))
    assert seen == [2] and res.threads.startswith("2 ")
    assert torch.get_num_threads() == before
    run_bench(RunSettings("nb201", proxies=("params",), batch_size=2), BenchSettings(n_archs=1, threads=1))
    assert seen[-1] == 1


def test_bench_reads_timers_after_the_device_is_done(monkeypatch):
    """On a GPU the timers wait for the queued kernels (faked: a device of type cuda)."""
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(device))
    t = runner.clock(torch.device("cuda", 1))
    assert calls == [torch.device("cuda", 1)] and t > 0
    runner.clock(torch.device("cpu"))
    assert len(calls) == 1


def test_bench_cli_prints_the_ratio_table():
    out = CliRunner().invoke(
        main,
        ["bench", "--archs", "1", "--batch-size", "4", "--proxy", "params", "--proxy", "synflow", "--threads", "1"],
    )
    assert out.exit_code == 0, out.output
    assert "plain s/arch" in out.output and "ALL" in out.output and "scores identical: yes" in out.output
    assert "builds" in out.output and "syncs" in out.output and "torch threads 1\n" in out.output
    bad = CliRunner().invoke(main, ["bench", "--archs", "1", "--proxy", "nothing*"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
