"""`zcbench import naslib|abdelfattah`, `zcbench agreement` and `--source` through the command line."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from zcbench.cli import main
from zcbench.store import coverage


def _suite_zero(path, n: int = 40, seed: int = 0):
    """A miniature zc_nasbench201.json in the published layout: {dataset: {NASLib key: {val_accuracy, proxy: {score,
    time}}}}; NB201 keys are op-index tuples in NASLib's op order."""
    rng = np.random.default_rng(seed)
    keys = {str(tuple(int(x) for x in rng.integers(0, 5, 6))) for _ in range(n)}
    data = {
        "cifar10": {
            k: {
                "val_accuracy": float(rng.uniform(50, 90)),
                **{p: {"score": float(rng.normal()), "time": 0.1} for p in ("synflow", "jacov", "params", "flops")},
            }  # fmt: skip
            for k in sorted(keys)
        }
    }
    path.write_text(json.dumps(data))
    return path, len(keys)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_import_then_correlate_and_compare_with_the_paper(tmp_path):
    f, n = _suite_zero(tmp_path / "zc_nasbench201.json")
    out = tmp_path / "r.h5"
    res = run("import", "naslib", f, "--out", out)
    assert res.exit_code == 0 and f"imported 4 runs ({4 * n} rows, {n} architectures) -> {out}" in res.stdout
    assert {c.code for c in coverage(out)} == {"naslib:zc_nasbench201.json"}
    assert run("import", "naslib", f, "--out", out).exit_code == 0  # idempotent
    assert all(c.done == n for c in coverage(out))
    res = run("correlate", out, "--proxy", "*@naslib", "--format", "json")
    rows = json.loads(res.stdout)
    assert {r["proxy"] for r in rows} == {"synflow@naslib", "jacov@naslib", "params@naslib", "flops@naslib"}
    res = run(
        "correlate", out, "--paper", "suite-zero", "--source", "naslib", "--format", "json", "--dataset", "cifar10"
    )
    cells = [r for r in json.loads(res.stdout) if r["status"] == "ok"]
    assert res.exit_code == 0 and {c["proxy"] for c in cells} == {"synflow", "jacov", "params", "flops"}
    res = run("plot", out, "--source", "naslib", "--kind", "heatmap", "--out", tmp_path / "figs", "--format", "png")
    assert res.exit_code == 0 and (tmp_path / "figs").is_dir(), res.output
    res = run("correlate", out, "--source", "abdelfattah")
    assert res.exit_code == 2 and "no imported abdelfattah scores" in res.stderr


def test_agreement_and_bad_files(tmp_path):
    f, n = _suite_zero(tmp_path / "zc_nasbench201.json")
    out = tmp_path / "r.h5"
    assert run("import", "naslib", f, "--out", out).exit_code == 0
    res = run("agreement", out)
    assert res.exit_code == 2 and "no proxy is both scored by zcbench and imported from naslib" in res.stderr
    archs = tmp_path / "archs.txt"
    assert run("score", "--space", "nb201", "--archs-from", out, "--proxy", "params", "--out", out).exit_code == 0
    res = run("agreement", out)
    assert res.exit_code == 0 and "params" in res.stdout
    bad = tmp_path / "zc_nasbench201_broken.json"
    bad.write_text('{"cifar10": {"(0, 1')
    before = out.read_bytes()
    res = run("import", "naslib", bad, "--out", out)
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "invalid JSON" in res.stderr
    assert out.read_bytes() == before and not archs.exists()
    res = run("import", "naslib", f, "--out", tmp_path / "missing-dir" / "x" / "r.h5", "--space", "nb999")
    assert res.exit_code == 2 and not (tmp_path / "missing-dir").exists()
