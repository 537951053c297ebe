"""Correlation tables from a results frame, protocol presets and published numbers, and their output.

One job per module: :mod:`.presets` finds and reads the YAML presets, :mod:`.protocol` holds the
conventions a number is computed under and the metric names, :mod:`.correlation` computes the
tables, :mod:`.papers` compares them with published cells, :mod:`.export` renders ``zcbench export``,
:mod:`.selection` checks that ``--space``/``--dataset``/``--proxy`` selectors match something.
Every table is printed by :func:`zcbench.formatting.format_frame`. Nothing here imports torch.
"""

from __future__ import annotations

from ..aggregates import VOTE_INPUTS
from ..formatting import FORMATS, format_frame, latex_escape
from ..store.columns import META_COLUMNS, proxy_columns
from .correlation import check_resampling, correlation_table, mark_ties, select_columns
from .export import export_frame
from .papers import Paper, PaperCheck, PaperTable, check_failures, check_paper, compare_paper, load_paper
from .presets import find_preset, list_presets, read_yaml
from .protocol import (
    CORRELATION_METRICS,
    DISPLAY_DROP,
    TARGETS,
    TRANSFORMS,
    Protocol,
    display_frame,
    load_protocol,
    metric_fn,
    topk_metrics,
)
from .selection import match_columns, select_rows

__all__ = [
    "CORRELATION_METRICS",
    "DISPLAY_DROP",
    "FORMATS",
    "META_COLUMNS",
    "TARGETS",
    "TRANSFORMS",
    "VOTE_INPUTS",
    "Paper",
    "PaperCheck",
    "PaperTable",
    "Protocol",
    "check_failures",
    "check_paper",
    "check_resampling",
    "compare_paper",
    "correlation_table",
    "display_frame",
    "export_frame",
    "find_preset",
    "format_frame",
    "latex_escape",
    "list_presets",
    "load_paper",
    "load_protocol",
    "mark_ties",
    "match_columns",
    "metric_fn",
    "proxy_columns",
    "read_yaml",
    "select_columns",
    "select_rows",
    "topk_metrics",
]
