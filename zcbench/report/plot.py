"""Figures for a results frame: score-vs-accuracy scatters, a proxy × benchmark correlation heatmap
(as NAS-Bench-Suite-Zero's) and proxy-vs-proxy correlation matrices, as PNG and/or PDF.

matplotlib is imported only here, lazily, and a missing install is a one-line :class:`UsageError`.
The Agg backend is forced so that plotting works headless. Figures are rendered in memory and
written through :mod:`zcbench.outputs` once all of them exist, so a failing command leaves no file
and no directory behind; an output directory or a figure suffix that cannot be written is refused
before anything is drawn (:func:`check_figure_dir`, :func:`figure_paths`).
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as _st

from .. import report as rep
from ..errors import UsageError
from ..outputs import check_writable, check_writable_dir, write_all
from ..store.columns import target_column
from . import stats

Sink = dict[Path, bytes]  # rendered figures waiting to be written until all of them are drawn


def _tight(fig) -> None:
    """tight_layout without matplotlib's warning for figures it cannot tighten (a 1-cell heatmap)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()


TOP_COLOR = "#d62728"
REST_COLOR = "#7f7f7f"


def require_matplotlib():
    """The ``matplotlib.pyplot`` module on the Agg backend, or a UsageError saying what to install."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plotting needs matplotlib (a zcbench dependency): pip install matplotlib") from None
    return plt


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_")


def supported_formats() -> list[str]:
    """The file suffixes matplotlib can write (``Figure().canvas.get_supported_filetypes()``)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    return sorted(Figure().canvas.get_supported_filetypes())


def check_formats(formats: Iterable[str]) -> list[str]:
    """``formats`` (suffixes without the dot), refused in one line unless matplotlib can write each."""
    formats = [str(f).lower().lstrip(".") for f in formats]
    known = supported_formats()
    bad = [f for f in formats if f not in known]
    if bad:
        raise UsageError(f"matplotlib cannot write .{bad[0]} figures (it writes: {', '.join(known)})")
    return formats


def figure_paths(path: str | Path) -> list[tuple[Path, str]]:
    """The files one figure path stands for: its suffix picks the format (any matplotlib writes), no
    suffix means ``.png`` and ``.pdf``. Each is checked writable; nothing is created."""
    path = Path(path)
    if not path.suffix:
        targets = [(path.with_name(f"{path.name}.{f}"), f) for f in ("png", "pdf")]
    else:
        fmt = path.suffix[1:].lower()
        if fmt not in supported_formats():
            raise UsageError(
                f"{path}: matplotlib cannot write .{fmt} figures (it writes: {', '.join(supported_formats())}; "
                "no suffix writes .png and .pdf)"
            )
        targets = [(path, fmt)]
    for p, _ in targets:
        check_writable(p, "figure")
    return targets


def check_figure_dir(out_dir: str | Path) -> Path:
    """The directory the figures go to, refused in one line (before any work) unless it can be written."""
    return check_writable_dir(out_dir, "figure directory")


def _render(fig, fmt: str) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=150 if fmt == "png" else None)
    return buf.getvalue()


def _save(fig, base: Path, formats: Iterable[str], sink: Sink | None = None) -> list[Path]:
    """Render ``fig`` once per format as ``base.<fmt>``: into ``sink`` (written later by the caller),
    or written now when there is none."""
    figures = {base.with_name(f"{base.name}.{fmt}"): _render(fig, fmt) for fmt in formats}
    if sink is None:
        return write_all(figures, "figure")
    sink.update(figures)
    return list(figures)


def _groups(frame: pd.DataFrame):
    for (space, dataset), block in frame.groupby(["space", "dataset"], sort=True):
        yield space, dataset, block.reset_index(drop=True)


def scatter(
    frame: pd.DataFrame,
    out_dir: str | Path,
    formats: Sequence[str] = ("png",),
    target: str = "val",
    axes: str = "rank",
    top_pct: float = 10.0,
    proxies: Sequence[str] | None = None,
    sink: Sink | None = None,
) -> list[Path]:
    """One figure per (space, dataset), one panel per proxy: score against accuracy (ranks or
    values), the top ``top_pct``% by accuracy highlighted, signed ρ in each panel title."""
    plt = require_matplotlib()
    written: list[Path] = []
    tcol = f"{target}_accuracy"
    names = rep.select_columns(rep.proxy_columns(frame), proxies)
    for space, dataset, block in _groups(frame):
        targets = {p: target_column(block, p, tcol) for p in names}  # each proxy against its own run's accuracies
        cols = [
            p
            for p in names
            if np.isfinite(block[p].to_numpy(dtype=float)).any()
            and targets[p] in block
            and np.isfinite(block[targets[p]].to_numpy(dtype=float)).any()
        ]
        if not cols:
            continue
        ncol = min(4, len(cols))
        nrow = math.ceil(len(cols) / ncol)
        fig, axs = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 3.0 * nrow), squeeze=False)
        for ax, proxy in zip(axs.flat, cols):
            s, t = stats.clean_pair(block[proxy].to_numpy(dtype=float), block[targets[proxy]].to_numpy(dtype=float))
            top = stats.top_mask(t, top_pct) if t.size else np.zeros(0, bool)
            x, y = (_st.rankdata(t), _st.rankdata(s)) if axes == "rank" else (t, s)
            ax.scatter(x[~top], y[~top], s=4, c=REST_COLOR, alpha=0.5, linewidths=0, label="others")
            ax.scatter(x[top], y[top], s=6, c=TOP_COLOR, alpha=0.8, linewidths=0, label=f"top {top_pct:g}%")
            rho = stats.spearman(s, t)
            ax.set_title(f"{proxy}  ρ={rho:.3f}  n={s.size}", fontsize=9)
            ax.set_xlabel(f"{target} accuracy{' rank' if axes == 'rank' else ' (%)'}", fontsize=8)
            ax.set_ylabel(f"score{' rank' if axes == 'rank' else ''}", fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in list(axs.flat)[len(cols) :]:
            ax.axis("off")
        axs.flat[0].legend(fontsize=7, loc="upper left", markerscale=2)
        fig.suptitle(f"{space} / {dataset}: proxy score vs {target} accuracy ({axes} axes)", fontsize=11)
        _tight(fig)
        written += _save(fig, Path(out_dir) / f"scatter_{_slug(space)}_{_slug(dataset)}_{axes}", formats, sink)
        plt.close(fig)
    return written


def _annotate(ax, vals: np.ndarray, fontsize: int) -> None:
    """Each cell of a correlation matrix drawn with ``imshow`` gets its value (.2f), or – where undefined."""
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            v = vals[i, j]
            label = "–" if math.isnan(v) else f"{v:.2f}"
            color = "white" if abs(v) > 0.6 else "black"
            ax.text(j, i, label, ha="center", va="center", fontsize=fontsize, color=color)


def heatmap(
    frame: pd.DataFrame,
    out_dir: str | Path,
    formats: Sequence[str] = ("png",),
    protocol: rep.Protocol | None = None,
    proxies: Sequence[str] | None = None,
    table: pd.DataFrame | None = None,
    sink: Sink | None = None,
) -> list[Path]:
    """Proxy × (space/dataset) Spearman heatmap annotated with .2f, as NAS-Bench-Suite-Zero."""
    plt = require_matplotlib()
    protocol = protocol or rep.Protocol()
    if table is None:
        table = rep.correlation_table(frame, replace(protocol, vote=False), ["spearman"], proxies)
    if not table.empty:  # a cell without any architecture that has an accuracy is no correlation
        table = table[pd.to_numeric(table["n"], errors="coerce").fillna(0) > 0]
    if table.empty:
        return []
    table = table.assign(bench=table["space"] + "/" + table["dataset"])
    grid = table.pivot_table(index="proxy", columns="bench", values="spearman", aggfunc="first", dropna=False)
    grid = grid.reindex(sorted(grid.index))
    vals = grid.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * vals.shape[1], 0.8 + 0.38 * vals.shape[0]))
    im = ax.imshow(np.ma.masked_invalid(vals), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(vals.shape[1]), grid.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(vals.shape[0]), grid.index, fontsize=8)
    _annotate(ax, vals, fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="Spearman ρ")
    ax.set_title(f"Spearman ρ vs {protocol.target} accuracy ({protocol.name}, {protocol.sign})", fontsize=10)
    _tight(fig)
    written = _save(fig, Path(out_dir) / f"heatmap_{_slug(protocol.name)}", formats, sink)
    plt.close(fig)
    return written


def proxy_matrix(
    frame: pd.DataFrame,
    out_dir: str | Path,
    formats: Sequence[str] = ("png",),
    proxies: Sequence[str] | None = None,
    sink: Sink | None = None,
) -> list[Path]:
    """Per (space, dataset): Spearman ρ between every pair of proxies (pairwise complete rows)."""
    plt = require_matplotlib()
    written: list[Path] = []
    names = rep.select_columns(rep.proxy_columns(frame), proxies)
    for space, dataset, block in _groups(frame):
        cols = [p for p in names if np.isfinite(block[p].to_numpy(dtype=float)).sum() >= 2]
        if len(cols) < 2:
            continue
        k = len(cols)
        mat = np.full((k, k), np.nan)
        for i in range(k):
            for j in range(i, k):
                mat[i, j] = mat[j, i] = 1.0 if i == j else stats.spearman(block[cols[i]], block[cols[j]])
        fig, ax = plt.subplots(figsize=(1.2 + 0.5 * k, 1.0 + 0.45 * k))
        im = ax.imshow(np.ma.masked_invalid(mat), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(k), cols, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), cols, fontsize=8)
        _annotate(ax, mat, fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="Spearman ρ")
        ax.set_title(f"{space} / {dataset}: proxy vs proxy", fontsize=10)
        _tight(fig)
        written += _save(fig, Path(out_dir) / f"proxy_matrix_{_slug(space)}_{_slug(dataset)}", formats, sink)
        plt.close(fig)
    return written


def make_plots(
    frame: pd.DataFrame,
    out_dir: str | Path,
    kinds: Iterable[str] = ("scatter", "heatmap", "proxy-matrix"),
    formats: Sequence[str] = ("png", "pdf"),
    protocol: rep.Protocol | None = None,
    axes: str = "rank",
    top_pct: float = 10.0,
    proxies=None,
) -> list[Path]:
    """Every requested kind of figure of ``frame`` (select spaces and datasets with
    :func:`~zcbench.report.selection.select_rows` first); returns the files written (a kind with nothing to
    plot writes nothing). The directory, the formats and the proxy selectors are checked before anything
    is drawn; figures are written only once all are drawn. Raises UsageError when nothing at all could be
    plotted (and then writes nothing)."""
    protocol = protocol or rep.Protocol()
    kinds = set(kinds)
    check_figure_dir(out_dir)
    formats = check_formats(formats)
    rep.match_columns(rep.proxy_columns(frame), proxies)
    sink: Sink = {}
    if "scatter" in kinds:
        scatter(frame, out_dir, formats, protocol.target, axes, top_pct, proxies, sink=sink)
    if "heatmap" in kinds:
        heatmap(frame, out_dir, formats, protocol, proxies, sink=sink)
    if "proxy-matrix" in kinds:
        proxy_matrix(frame, out_dir, formats, proxies, sink=sink)
    if not sink:
        raise UsageError("nothing to plot: no (space, dataset) has proxy scores with accuracies")
    return write_all(sink, "figure")


def render_search_curves(
    curves: pd.DataFrame, path: str | Path, which: str = "test", title: str = ""
) -> dict[Path, bytes]:
    """Mean incumbent accuracy (± std over rounds, shaded) against trained models, one line per
    variant — the form of Abdelfattah et al.'s search figure — rendered for :func:`figure_paths`
    of ``path`` (its suffix picks the format; none: png and pdf). ``curves`` is
    :func:`zcbench.search.curves_frame`; ``which`` is ``test``, ``val`` or ``best_test``."""
    targets = figure_paths(path)
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, block in curves.groupby("variant", sort=False):
        n = block["n"].to_numpy()
        mean, std = block[f"mean_{which}"].to_numpy(), block[f"std_{which}"].to_numpy()
        (line,) = ax.plot(n, mean, label=name, lw=1.4)
        ax.fill_between(n, mean - std, mean + std, color=line.get_color(), alpha=0.12, lw=0)
    ax.set_xlabel("trained models")
    label = {
        "test": "incumbent test accuracy (%)",
        "val": "incumbent val accuracy (%)",
        "best_test": "best test accuracy so far (%)",
    }[which]
    ax.set_ylabel(label)
    note = (
        "best test accuracy among the trained models"
        if which == "best_test"
        else "incumbent = best val accuracy so far"
    ) + "; mean ± std over rounds"
    return finish_curves(fig, ax, f"{title}\n{note}" if title else note, targets)


def finish_curves(fig, ax, title: str, targets) -> dict[Path, bytes]:
    """A curves figure's title, grid and legend, rendered to each ``(path, format)`` of ``targets``, closed."""
    import matplotlib.pyplot as plt

    ax.set_title(title, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _tight(fig)
    out = {p: _render(fig, fmt) for p, fmt in targets}
    plt.close(fig)
    return out


def search_curves(curves: pd.DataFrame, path: str | Path, which: str = "test", title: str = "") -> list[Path]:
    """:func:`render_search_curves`, written (atomically; nothing left behind on failure)."""
    return write_all(render_search_curves(curves, path, which, title), "figure")
