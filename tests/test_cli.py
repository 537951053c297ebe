"""The CLI contract: score → export → correlate on a miniature dump, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import nb201_fixtures as F
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from zcbench.cli import main

IDX = [0, 5, 100, 2000, 15624]


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    F.write_nb201_pth(d / "NAS-Bench-201-v1_1-096897.pth", IDX)
    return d / "NAS-Bench-201-v1_1-096897.pth"


def run(*args, ok=True):
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output + (res.stderr if hasattr(res, "stderr") else "")
    return res


def one_line_error(res):
    assert res.exit_code != 0
    err = res.stderr.strip()
    assert err.startswith("zcbench: error:") and "\n" not in err and "Traceback" not in err, err
    return err


def test_score_export_correlate(dump, tmp_path):
    out = tmp_path / "r.h5"
    res = run(
        "score",
        "--space",
        "nb201",
        "--dump",
        dump,
        "--dataset",
        "cifar100",
        "--proxy",
        "params",
        "--proxy",
        "synflow",
        "--out",
        out,
        "--quiet",
    )
    assert "params: 5 scored; synflow: 5 scored" in res.output
    csv = run("export", out).output
    df = pd.read_csv(__import__("io").StringIO(csv))
    assert list(df.columns) == [
        "space",
        "dataset",
        "index",
        "arch",
        "params",
        "synflow",
        "val_accuracy",
        "test_accuracy",
    ]
    assert sorted(df["index"]) == IDX
    meta = F.official_order()
    for _, r in df.iterrows():
        assert r["arch"] == meta[r["index"]]
        assert (r["val_accuracy"], r["test_accuracy"]) == pytest.approx(F.expected(r["index"], "cifar100"))
    # a second run is served from the cache
    assert (
        "params: 5 cached in"
        in run(
            "score",
            "--space",
            "nb201",
            "--dump",
            dump,
            "--dataset",
            "cifar100",
            "--proxy",
            "params",
            "--out",
            out,
            "--quiet",
        ).output
    )
    records = json.loads(run("export", out, "--format", "json").output)
    assert len(records) == 5 and set(records[0]) >= {"arch", "params", "val_accuracy"}
    # the file is plain HDF5 that h5py reads without zcbench
    with h5py.File(out) as f:
        g = f["runs/nb201/cifar100/params/s0"]
        assert g.attrs["space"] == "nb201" and g.attrs["torch"] and g.attrs["created"]
        assert np.all(g["score"][()] > 0.1)
    corr = run("correlate", out, "--format", "json", "--target", "val").output
    rows = json.loads(corr)
    got = {(r["proxy"], r["target"]): r for r in rows}
    assert {"space", "dataset", "proxy", "target", "n", "spearman", "kendall"} <= set(rows[0])
    from scipy import stats

    want = stats.spearmanr(df["params"], df["val_accuracy"]).statistic
    assert got[("params", "val")]["spearman"] == pytest.approx(want)
    assert got[("params", "val")]["n"] == 5


def test_archs_file_with_strings_and_indices(dump, tmp_path):
    meta = F.official_order()
    f = tmp_path / "archs.txt"
    f.write_text(f"# comment\n{meta[5]}\n100\n")
    out = tmp_path / "r.h5"
    run("score", "--space", "nb201", "--dump", dump, "--archs", f, "--proxy", "flops", "--out", out, "--quiet")
    df = pd.read_csv(__import__("io").StringIO(run("export", out).output))
    assert sorted(df["index"]) == [5, 100]


def test_sample_without_dump_and_synthetic_data_proxy(tmp_path):
    out = tmp_path / "r.h5"
    run("score", "--space", "nb201", "--sample", "3", "--seed", "1", "--proxy", "params", "--out", out, "--quiet")
    df = pd.read_csv(__import__("io").StringIO(run("export", out).output))
    assert len(df) == 3 and df["index"].eq(-1).all() and df["val_accuracy"].isna().all()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["score", "--space", "nb999", "--proxy", "params"], "unknown space"),
        (["score", "--space", "nb201", "--proxy", "nosuch"], "unknown proxy"),
        (["score", "--space", "nb201", "--proxy", "zz*"], "no proxy matches"),
        (["score", "--space", "nb201", "--dataset", "mnist", "--proxy", "params"], "no dataset"),
        (["score", "--space", "nb201", "--dump", "/nonexistent/NB201.pth", "--proxy", "params"], "no such file"),
    ],
)
def test_bad_input_one_line(args, needle, tmp_path):
    err = one_line_error(run(*args, "--out", tmp_path / "r.h5", ok=False))
    assert needle in err


def test_bad_arch_string_in_file(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|\n")
    err = one_line_error(
        run("score", "--space", "nb201", "--archs", f, "--proxy", "params", "--out", tmp_path / "r.h5", ok=False)
    )
    assert "line 1" in err and "bogus" in err


def test_images_needed_message(tmp_path, monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    from zcbench.proxies import PROXIES

    data_proxies = [n for n, s in PROXIES.items() if s.images]
    if not data_proxies:
        pytest.skip("no data-dependent proxy registered yet")
    err = one_line_error(
        run(
            "score",
            "--space",
            "nb201",
            "--sample",
            "1",
            "--proxy",
            data_proxies[0],
            "--out",
            tmp_path / "r.h5",
            ok=False,
        )
    )
    assert "cifar-10-batches-py" in err and "data/README.md" in err


def test_unwritable_output(tmp_path):
    err = one_line_error(
        run(
            "score",
            "--space",
            "nb201",
            "--sample",
            "1",
            "--proxy",
            "params",
            "--out",
            "/proc/zcbench-test/r.h5",
            ok=False,
        )
    )
    assert "cannot write" in err


def test_corrupt_and_foreign_hdf5_are_refused_and_kept(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    err = one_line_error(run("score", "--space", "nb201", "--sample", "1", "--proxy", "params", "--out", bad, ok=False))
    assert "unreadable HDF5" in err and bad.read_bytes() == b"not an hdf5 file at all"
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    before = foreign.read_bytes()
    err = one_line_error(
        run("score", "--space", "nb201", "--sample", "1", "--proxy", "params", "--out", foreign, ok=False)
    )
    assert "not a zcbench results file" in err and foreign.read_bytes() == before
    one_line_error(run("export", bad, ok=False))
    one_line_error(run("export", tmp_path / "missing.h5", ok=False))


def test_failed_run_keeps_cached_scores(dump, tmp_path):
    out = tmp_path / "r.h5"
    run("score", "--space", "nb201", "--dump", dump, "--proxy", "params", "--out", out, "--quiet")
    before = pd.read_csv(__import__("io").StringIO(run("export", out).output))
    one_line_error(
        run(
            "score",
            "--space",
            "nb201",
            "--dump",
            dump,
            "--dataset",
            "nope",
            "--proxy",
            "params",
            "--out",
            out,
            ok=False,
        )
    )
    f = tmp_path / "a.txt"
    f.write_text("garbage\n")
    one_line_error(run("score", "--space", "nb201", "--archs", f, "--proxy", "params", "--out", out, ok=False))
    after = pd.read_csv(__import__("io").StringIO(run("export", out).output))
    pd.testing.assert_frame_equal(before, after)


def test_version_help_and_listings():
    assert "zcbench" in run("--version").output
    for cmd in ("score", "export", "correlate", "spaces", "proxies"):
        assert "Usage" in run(cmd, "--help").output
    assert "nb201" in run("spaces").output
    out = run("proxies", "syn*").output
    assert "synflow" in out and "params" not in out


def test_console_script_subprocess(tmp_path):
    """The installed entry point, as users type it; an error is one line on stderr, no traceback."""
    p = subprocess.run(
        [sys.executable, "-m", "zcbench", "score", "--space", "nope", "--proxy", "params"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and p.stderr.strip().count("\n") == 0 and "unknown space" in p.stderr


def test_variant_is_its_own_table(tmp_path):
    """``--variant naslib`` scores NASLib's smaller DARTS net; its rows are stored as space nb301[naslib]."""
    from zcbench.spaces.darts_genotype import format_genotype, sample_genotypes

    csv = tmp_path / "archs.csv"
    csv.write_text(
        "genotype,val_accuracy\n"
        + "".join(f'"{format_genotype(g)}",{90 + i}\n' for i, g in enumerate(sample_genotypes(2, 0)))
    )
    out = tmp_path / "r.h5"
    for extra in ([], ["--variant", "naslib"]):
        run("score", "--space", "nb301", "--dump", csv, "--proxy", "params", "--out", out, "--quiet", *extra)
    df = pd.read_csv(__import__("io").StringIO(run("export", out).output))
    assert sorted(set(df["space"])) == ["nb301", "nb301[naslib]"]
    big = df[df.space == "nb301"].sort_values("index")["params"].to_numpy()
    small = df[df.space == "nb301[naslib]"].sort_values("index")["params"].to_numpy()
    assert (big != small).all() and list(df[df.space == "nb301"].sort_values("index")["val_accuracy"]) == [90, 91]
    err = one_line_error(
        run("score", "--space", "nb201", "--sample", "1", "--proxy", "params", "--variant", "x", "--out", out, ok=False)
    )
    assert "no network variant" in err


def test_options_key_only_the_proxies_that_read_them(tmp_path):
    """A proxy's run key holds the options it reads: zen is data-free but batch-dependent, synflow's
    cached scores survive a change of swap options, and an option nobody reads is refused."""
    from zcbench.engine.scorer import RunSettings

    s = RunSettings("nb201", "cifar10", ["synflow", "zen", "swap"], batch_size=16, options={"swap_repeats": 2})
    assert s.run_key("synflow").setting == "s0"
    assert s.run_key("zen").setting.startswith("s0-o") and s.run_key("zen").data_free
    assert s.run_key("zen").setting != RunSettings("nb201", "cifar10", ["zen"], batch_size=32).run_key("zen").setting
    other = RunSettings("nb201", "cifar10", ["synflow", "swap"], batch_size=16, options={"swap_repeats": 4})
    assert other.run_key("swap").path != s.run_key("swap").path
    assert other.run_key("synflow").path == s.run_key("synflow").path
    err = one_line_error(
        run(
            "score",
            "--space",
            "nb201",
            "--sample",
            "1",
            "--proxy",
            "synflow",
            "--option",
            "swap_repeat=3",
            "--out",
            tmp_path / "r.h5",
            ok=False,
        )
    )
    assert "swap_repeat" in err and "not read by any selected proxy" in err


def test_archs_from_a_results_file(tmp_path):
    """--archs-from scores the architectures another results file holds for this space and dataset."""
    src, out = tmp_path / "src.h5", tmp_path / "out.h5"
    from zcbench.spaces import get_space

    archs = get_space("nb201").sample(3, 11)
    (tmp_path / "a.txt").write_text("\n".join(archs))
    base = ["score", "--space", "nb201", "--proxy", "params", "--quiet"]
    assert CliRunner().invoke(main, [*base, "--archs", str(tmp_path / "a.txt"), "--out", str(src)]).exit_code == 0
    res = CliRunner().invoke(main, [*base, "--archs-from", str(src), "--out", str(out)])
    assert res.exit_code == 0 and "params: 3 scored" in res.stdout, res.output
    res = CliRunner().invoke(main, [*base, "--dataset", "cifar100", "--archs-from", str(src), "--out", str(out)])
    assert res.exit_code == 2 and res.stderr.strip() == (
        f"zcbench: error: {src} holds no architectures of nb201/cifar100 (it has: nb201/cifar10)"
    )
    res = CliRunner().invoke(main, [*base, "--archs-from", str(src), "--archs", str(tmp_path / "a.txt")])
    assert res.exit_code == 2 and "one way" in res.stderr


def test_an_empty_shard_says_it_wrote_nothing(tmp_path):
    from zcbench.engine.plan import shard_of
    from zcbench.spaces import get_space

    archs = get_space("nb201").sample(4, 0)
    empty = next(i for i in range(8) if all(shard_of(a, 8) != i for a in archs))
    (tmp_path / "a.txt").write_text("\n".join(archs))
    out = tmp_path / "part.h5"
    res = CliRunner().invoke(main, ["score", "--space", "nb201", "--archs", str(tmp_path / "a.txt"), "--proxy",
                                    "params", "--shard", f"{empty}/8", "--out", str(out), "--quiet"])  # fmt: skip
    assert res.exit_code == 0 and f"nothing to write, {out} not created" in res.stdout and not out.exists()


def test_the_default_schedule_spelled_out_is_the_same_truth(dump, tmp_path):
    """NB201's default is the 200-epoch schedule: --epochs 200 and no --epochs are one computation (cached),
    --epochs 12 is another (refused)."""
    out = tmp_path / "r.h5"
    base = ["score", "--space", "nb201", "--dump", dump, "--proxy", "params", "--out", out, "--quiet"]
    assert "params: 5 scored" in run(*base, "--epochs", "200").stdout
    assert "params: 5 cached" in run(*base).stdout
    assert "12 epochs" in one_line_error(run(*base, "--epochs", "12", ok=False))
