"""``zcbench bench``: both loops give identical scores, the table shows each shared pass, and the
warm-up pass keeps one-off costs out of the timings."""

from __future__ import annotations

import math

from click.testing import CliRunner

from zcbench.cli import main
from zcbench.engine.bench_proxies import run_bench

PROXIES = ["params", "synflow", "grad_norm", "snip", "swap", "reg_swap"]
OPTS = {"swap_repeats": 2, "reg_swap_mu": 300.0, "reg_swap_sigma": 1e5}


def test_bench_scores_identical_and_groups_listed():
    res = run_bench("nb201", "cifar10", PROXIES, n_archs=1, batch_size=4, options=OPTS)
    assert res.mismatches == []
    assert res.n_archs == 1 and all(res.plain[p] > 0 and res.shared[p] > 0 for p in PROXIES)
    assert math.isclose(res.plain_total, sum(res.plain.values()), rel_tol=0.05)
    groups = dict(res.groups())
    assert groups["[pass 1]"] == ["grad_norm", "snip"]
    assert groups["[pass 2]"] == ["swap", "reg_swap"]
    assert groups["[alone]"] == ["params", "synflow"]
    table = res.table()
    assert "scores identical: yes" in table and "[pass 2]" in table
    assert table.splitlines()[-2].startswith("ALL")


def test_bench_cli_prints_the_ratio_table():
    out = CliRunner().invoke(
        main,
        ["bench", "--archs", "1", "--batch-size", "4", "--proxy", "params", "--proxy", "synflow", "--threads", "1"],
    )
    assert out.exit_code == 0, out.output
    assert "plain s/arch" in out.output and "ALL" in out.output and "scores identical: yes" in out.output
    bad = CliRunner().invoke(main, ["bench", "--archs", "1", "--proxy", "nothing*"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
