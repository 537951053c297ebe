"""The learning curve of ``zcbench predict --plot``: Spearman ρ (mean ± std over trials) against the number
of training architectures, one line per (feature set, model), in the figure conventions of report/plot.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..report.plot import figure_paths, finish_curves, require_matplotlib


def render_learning_curve(table: pd.DataFrame, path: str | Path, title: str = "") -> dict[Path, bytes]:
    """ρ against N from a ``zcbench predict`` table, rendered for :func:`figure_paths` of ``path`` (its suffix
    picks the format; none: png and pdf). Published values (``paper_spearman``) are drawn as markers."""
    targets = figure_paths(path)
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for (features, model), block in table.groupby(["features", "model"], sort=False):
        block = block.sort_values("train")
        n, mean, std = block["train"].to_numpy(), block["spearman_mean"].to_numpy(), block["spearman_std"].to_numpy()
        (line,) = ax.plot(n, mean, marker="o", ms=3, lw=1.4, label=f"{model}, {features}")
        ax.fill_between(n, mean - std, mean + std, color=line.get_color(), alpha=0.12, lw=0)
        if "paper_spearman" in block:
            paper = block.dropna(subset=["paper_spearman"])
            ax.errorbar(paper["train"], paper["paper_spearman"], yerr=paper["paper_std"], fmt="x",
                        color=line.get_color(), capsize=3, label=f"{model}, {features} (paper)")  # fmt: skip
    if table["train"].nunique() > 2:
        ax.set_xscale("log")
    ax.set_xlabel("training architectures N")
    ax.set_ylabel("Spearman ρ on the test set")
    note = f"test set {int(table['test'].iloc[0])}, mean ± std over {int(table['trials'].iloc[0])} trials"
    return finish_curves(fig, ax, f"{title}\n{note}" if title else note, targets)
