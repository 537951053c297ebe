"""Figures are produced, non-empty and of the right file type; a missing matplotlib is one line."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from zcbench.errors import UsageError

pytest.importorskip("matplotlib")

from zcbench import report as rep
from zcbench.report import plot as zplot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_frame(n: int = 25) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for dataset in ("cifar10", "cifar100"):
        val = rng.uniform(40, 90, n)
        for i in range(n):
            rows.append(
                {
                    "space": "nb201",
                    "dataset": dataset,
                    "index": i,
                    "arch": f"a{i}",
                    "synflow": val[i] + rng.normal(0, 5),
                    "params": rng.normal(),
                    "snip": np.nan if i == 0 else -val[i],
                    "val_accuracy": val[i],
                    "test_accuracy": val[i] + 1,
                }
            )
    return pd.DataFrame(rows)


def test_all_kinds_png_and_pdf(tmp_path):
    written = zplot.make_plots(tiny_frame(), tmp_path, formats=("png", "pdf"))
    names = {p.name for p in written}
    assert {
        "scatter_nb201_cifar10_rank.png",
        "scatter_nb201_cifar100_rank.pdf",
        "heatmap_plain.png",
        "heatmap_plain.pdf",
        "proxy_matrix_nb201_cifar10.png",
    } <= names
    for p in written:
        data = p.read_bytes()
        assert len(data) > 1000, p
        assert data.startswith(PNG_MAGIC if p.suffix == ".png" else b"%PDF"), p


def test_value_axes_and_filters(tmp_path):
    written = zplot.make_plots(
        rep.select_rows(tiny_frame(), datasets=["cifar100"]),
        tmp_path,
        kinds=["scatter"],
        formats=("png",),
        axes="value",
        proxies=["syn*"],
    )
    assert [p.name for p in written] == ["scatter_nb201_cifar100_value.png"]


def test_heatmap_uses_protocol(tmp_path):
    written = zplot.heatmap(tiny_frame(), tmp_path, ("png",), protocol=rep.load_protocol("abdelfattah2021"))
    assert [p.name for p in written] == ["heatmap_abdelfattah2021.png"]


def test_nothing_to_plot_is_a_usage_error(tmp_path):
    f = tiny_frame().assign(val_accuracy=np.nan, test_accuracy=np.nan)
    with pytest.raises(UsageError, match="nothing to plot"):
        zplot.make_plots(
            f[["space", "dataset", "index", "arch", "val_accuracy", "test_accuracy"]], tmp_path, formats=("png",)
        )


def test_missing_matplotlib_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match=r"needs matplotlib.*pip install matplotlib"):
        zplot.require_matplotlib()


def test_cli_plot(tmp_path):
    from test_report import write_results

    from zcbench.cli import main

    res_file = tmp_path / "r.h5"
    write_results(res_file, tiny_frame(15))
    out = tmp_path / "figs"
    res = CliRunner().invoke(
        main,
        ["plot", str(res_file), "--out", str(out), "--format", "png", "--kind", "heatmap", "--kind", "proxy-matrix"],
    )
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["heatmap_plain.png", "proxy_matrix_nb201_cifar10.png", "proxy_matrix_nb201_cifar100.png"]
    assert all((out / f).stat().st_size > 1000 for f in files)
