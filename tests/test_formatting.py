"""The one table formatter every command prints with: how cells read, where captions go, escaping."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from zcbench.errors import UsageError
from zcbench.formatting import FORMATS, format_frame, latex_escape


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "proxy": ["grad_norm", "a|b", "vote"],
            "n": np.array([30, 5, 12], dtype=np.int64),
            "spearman": [0.12345, math.nan, -0.5],
        }
    )


def test_table_cells_alignment_and_caption_below():
    lines = format_frame(frame(), "table", "the caption", digits=3).splitlines()
    assert lines[0].split() == ["proxy", "n", "spearman"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["grad_norm", "30", "0.123"]  # integers without decimals, floats with `digits`
    assert lines[3].split() == ["a|b", "5", "–"]  # NaN reads as a dash
    assert lines[4].split() == ["vote", "12", "-0.500"]
    assert len({len(line) for line in lines[2:5]}) == 1  # the numeric last column is right-aligned
    assert lines[2].startswith("grad_norm") and lines[3].startswith("a|b ")  # text left-aligned
    assert lines[-2:] == ["", "the caption"]
    assert format_frame(frame(), "table", digits=1).splitlines()[2].split()[-1] == "0.1"
    assert "the caption" not in format_frame(frame(), "table")


def test_float_spec_for_values_of_many_magnitudes():
    df = pd.DataFrame({"synflow": [2.704494e39, 0.25]})
    assert format_frame(df, "table", float_spec=".6g").splitlines()[2:] == ["2.70449e+39", "       0.25"]


def test_markdown_caption_above_and_pipes_escaped():
    lines = format_frame(frame(), "markdown", "cap").splitlines()
    assert lines[:2] == ["*cap*", ""]
    pipe = lines[2:]
    assert len(pipe) == 2 + len(frame())
    assert r"a\|b" in pipe[3] and len({line.replace(r"\|", "").count("|") for line in pipe}) == 1
    rule = [c.strip() for c in pipe[1].strip("|").split("|")]
    assert [(c[0], c[-1]) for c in rule] == [(":", "-"), ("-", ":"), ("-", ":")]  # text left, numbers right
    assert pipe[2].split("|")[3].strip() == "0.123"


def test_latex_booktabs_escaped():
    df = frame().rename(columns={"spearman": "ρ 10%"})
    tex = format_frame(df, "latex", "grad_norm & Δ")
    assert tex.startswith("\\begin{table}[t]\n\\centering\n\\caption{grad\\_norm \\& $\\Delta$}\n")
    assert "\\begin{tabular}{lrr}" in tex and tex.rstrip().endswith("\\end{table}")
    head, body = tex.split("\\toprule\n")[1].split("\\midrule\n")
    assert head.split("&")[2].strip() == r"$\rho$ 10\% \\"
    rows = body.split("\\bottomrule")[0].strip().splitlines()
    assert [r.split("&")[0].strip() for r in rows] == [r"grad\_norm", "a|b", "vote"]
    assert rows[1].split("&")[2].strip() == r"-- \\"  # NaN
    assert latex_escape("grad_norm 10% & Δ") == r"grad\_norm 10\% \& $\Delta$"


def test_csv_and_json_carry_values_not_layout():
    df = frame().assign(ok=[True, False, True], note=["x", None, "z"], small=np.float32(0.5))
    back = pd.read_csv(io.StringIO(format_frame(df, "csv")))
    assert list(back.columns) == list(df.columns) and math.isnan(back["spearman"][1])
    assert back["spearman"][0] == pytest.approx(0.12345)
    recs = json.loads(format_frame(df, "json"))
    assert recs[0] == {
        "proxy": "grad_norm",
        "n": 30,
        "spearman": 0.12345,
        "ok": True,
        "note": "x",
        "small": 0.5,
    }
    assert recs[1]["spearman"] is None and recs[1]["note"] is None  # NaN and None → null
    assert isinstance(recs[0]["n"], int)


def test_empty_and_unknown_format():
    empty = frame().iloc[0:0]
    for fmt in FORMATS:
        format_frame(empty, fmt)  # no rows: headers only, no error
    assert format_frame(empty, "json") == "[]\n"
    with pytest.raises(UsageError, match="unknown format"):
        format_frame(frame(), "xml")
