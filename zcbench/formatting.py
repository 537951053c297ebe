"""One table formatter for every command: a DataFrame as aligned text, markdown, LaTeX, CSV or JSON.

``tabulate`` lays out the three text formats (column widths, alignment, pipe tables, booktabs rules and
the escaping of LaTeX specials in cells); pandas writes CSV. What is decided here is only what every
zcbench table shares: how a cell reads (NaN "–", floats with ``digits`` decimals, integers without),
where the caption goes, and JSON as a list of objects with NaN → null and numpy scalars as Python values.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from .errors import UsageError
from .settings import TABLE_FORMATS

FORMATS = TABLE_FORMATS
MISSING = "–"  # how NaN (a failed score, an undefined correlation) reads in the text formats

_LATEX_ESC = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
# the Unicode our captions and cells use, spelled so that pdflatex needs no extra package
_LATEX_UNICODE = {"–": "--", "−": "$-$", "Δ": r"$\Delta$", "ρ": r"$\rho$", "τ": r"$\tau$"}


def latex_escape(text: str) -> str:
    """``text`` safe inside a LaTeX paragraph (captions; tabulate escapes the cells itself)."""
    return "".join(_LATEX_ESC.get(ch, _LATEX_UNICODE.get(ch, ch)) for ch in str(text))


def _latex_unicode(text: str) -> str:
    return "".join(_LATEX_UNICODE.get(ch, ch) for ch in text)


def _is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _cell(v: Any, float_spec: str) -> str:
    if _is_missing(v):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return format(float(v), float_spec)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def _text_cells(df: pd.DataFrame, float_spec: str) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers, rows of display strings, and each column's alignment (numbers right, text left)."""
    headers = [str(c) for c in df.columns]
    columns = [[_cell(v, float_spec) for v in df.iloc[:, i].tolist()] for i in range(df.shape[1])]
    rows = [list(r) for r in zip(*columns)] if columns else []
    align = ["right" if pd.api.types.is_numeric_dtype(df.iloc[:, i]) else "left" for i in range(df.shape[1])]
    return headers, rows, align


def _tabulate(headers: list[str], rows: list[list[str]], align: list[str], tablefmt: str) -> str:
    from tabulate import tabulate

    if not headers:
        return ""
    # cells are already strings in their final form: tabulate must not re-parse "0.100" as a number
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True, colalign=align)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready objects: numpy scalars as Python values, NaN/None/NA as ``None``."""
    out = []
    for rec in df.to_dict(orient="records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            row[str(k)] = None if _is_missing(v) else v
        out.append(row)
    return out


def format_frame(df: pd.DataFrame, fmt: str, caption: str = "", digits: int = 3, float_spec: str | None = None) -> str:
    """Render ``df`` as ``table`` (aligned text, caption below), ``markdown`` (caption above, in
    italics), ``latex`` (booktabs, ``\\caption``), ``csv`` or ``json`` (list of objects, NaN → null).

    Floats show ``digits`` decimals in the text formats (``float_spec``, e.g. ``".6g"``, replaces that
    for tables whose values span many magnitudes); CSV keeps ``max(digits, 6)`` significant digits and
    JSON full precision. CSV and JSON carry no caption: what it says belongs in their columns."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "csv":
        return df.to_csv(index=False, float_format=f"%.{max(digits, 6)}g")
    if fmt == "json":
        return json.dumps(records(df), indent=2, ensure_ascii=False, default=str) + "\n"
    headers, rows, align = _text_cells(df, float_spec or f".{digits}f")
    if fmt == "table":
        text = "\n".join(line.rstrip() for line in _tabulate(headers, rows, align, "simple").splitlines())
        return text + ("\n\n" + caption if caption else "") + "\n"
    if fmt == "markdown":

        def esc(v: str) -> str:
            return v.replace("|", r"\|")

        body = _tabulate([esc(h) for h in headers], [[esc(v) for v in r] for r in rows], align, "pipe")
        return (f"*{caption}*\n\n" if caption else "") + body + "\n"
    body = _latex_unicode(_tabulate(headers, rows, align, "latex_booktabs"))
    head = [r"\begin{table}[t]", r"\centering"] + ([r"\caption{" + latex_escape(caption) + "}"] if caption else [])
    return "\n".join([*head, body, r"\end{table}"]) + "\n"
