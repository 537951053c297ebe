"""Every space through the CLI on a miniature dump in its official format: score → export → correlate,
with data-free proxies and a data proxy on synthetic images."""

from __future__ import annotations

import io
import json
import math

import nb101_fixtures as NB101
import nb201_fixtures as NB201
import pandas as pd
import pytest
import tnb101_fixtures as TNB
from click.testing import CliRunner

from zcbench.cli import main
from zcbench.spaces.darts_genotype import format_genotype, sample_genotypes


def _dump(space: str, d):
    if space == "nb201":
        p = d / "NAS-Bench-201-v1_1-096897.pth"
        NB201.write_nb201_pth(p, [0, 7, 300])
        return p, "cifar100", 3
    if space == "nb101":
        p = d / "nasbench_only108.tfrecord"
        NB101.write_tfrecord(p, NB101.make_runs())
        return p, "cifar10", len(NB101.SPECS)
    if space == "nb301":
        p = d / "DARTS_archs_CIFAR10.csv"
        p.write_text("".join(f'"{format_genotype(g)}",{80 + i}\n' for i, g in enumerate(sample_genotypes(3, 1))))
        return p, "cifar10", 3
    p = TNB.make_tnb101_dump(d / "transnas-bench_v10141024.pth")
    return p, ("class_scene" if space == "tnb101_micro" else "room_layout"), (3 if space == "tnb101_micro" else 2)


@pytest.mark.slow
@pytest.mark.parametrize("space", ["nb201", "nb101", "nb301", "tnb101_micro", "tnb101_macro"])
def test_score_export_correlate_every_space(space, tmp_path):
    dump, dataset, n = _dump(space, tmp_path)
    out = tmp_path / "r.h5"
    args = [
        "score",
        "--space",
        space,
        "--dump",
        str(dump),
        "--dataset",
        dataset,
        "--proxy",
        "params",
        "--proxy",
        "flops",
        "--proxy",
        "synflow",
        "--proxy",
        "snip",
        "--synthetic",
        "--batch-size",
        "2",
        "--limit",
        str(n),
        "--out",
        str(out),
        "--quiet",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output + res.stderr
    df = pd.read_csv(io.StringIO(CliRunner().invoke(main, ["export", str(out)]).output))
    assert len(df) == n and set(df["space"]) == {space} and set(df["dataset"]) == {dataset}
    for proxy in ("params", "flops", "synflow", "snip"):
        assert df[proxy].notna().all() and (df[proxy] != 0).any(), (proxy, df[proxy].tolist())
    assert df["val_accuracy"].notna().all()
    rows = json.loads(CliRunner().invoke(main, ["correlate", str(out), "--format", "json"]).output)
    got = {r["proxy"]: r for r in rows if r["space"] == space}
    assert set(got) >= {"params", "flops", "synflow", "snip"}
    assert all(r["n"] == n for r in got.values())
    assert any(not math.isnan(r["spearman"]) for r in got.values() if r["spearman"] is not None)
