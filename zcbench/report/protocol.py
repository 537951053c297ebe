"""Correlation protocols and the metric names they use.

A *protocol* (``configs/protocols/<name>.yaml``) fixes everything that changes a published number
besides the scores themselves: target (val/test), sign convention, how failed scores and undefined
correlations count, whether architectures are subsampled, and which metrics are reported. Every one
of these is stated in the table's caption (:meth:`Protocol.caption`), so a number never travels
without the conventions it was computed under.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..settings import TARGETS
from . import stats
from .presets import find_preset, preset_name, read_yaml

CORRELATION_METRICS = ("spearman", "kendall", "pearson")
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"naslib_log": stats.naslib_log}
_TOPK_CORR = re.compile(r"^(spearman|kendall)_top(\d+(?:\.\d+)?)$")
_OVERLAP = re.compile(r"^overlap_top(\d+(?:\.\d+)?)$")
_TOPN = re.compile(r"^top(\d+)_in_top(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Protocol:
    """How a correlation is computed and reported; every field is stated in the caption."""

    name: str = "plain"
    description: str = "signed rank correlation against the chosen target, all architectures"
    target: str = "val"
    sign: str = "signed"
    score_nan: str = "omit"
    corr_nan: str = "nan"
    sample_size: int | None = None
    seeds: tuple[int, ...] = ()
    metrics: tuple[str, ...] = ("spearman", "kendall")
    transforms: dict = field(default_factory=dict)  # proxy -> transform name (applied before ranking)
    vote: bool = False
    vote_max_n: int = 20000
    source: str = ""

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise UsageError(f"protocol {self.name}: target must be val or test, not {self.target!r}")
        stats.apply_sign(0.0, self.sign)
        stats.fill_corr_nan(0.0, self.corr_nan)
        if self.score_nan not in stats.SCORE_NAN_POLICIES:
            raise UsageError(f"protocol {self.name}: score_nan must be omit or worst, not {self.score_nan!r}")
        if self.sample_size is not None and (int(self.sample_size) < 1 or not self.seeds):
            raise UsageError(f"protocol {self.name}: sample_size needs a positive size and a list of seeds")
        for m in self.metrics:
            metric_fn(m)
        for proxy, t in self.transforms.items():
            if t not in TRANSFORMS:
                raise UsageError(f"protocol {self.name}: unknown transform {t!r} for {proxy}")

    def caption(self, notes: Iterable[str] = ()) -> str:
        """One line stating target, sign, NaN handling and sampling (what changes the numbers)."""
        sign = "absolute value |ρ| (sign discarded)" if self.sign == "abs" else "signed (negative = anti-correlated)"
        nan_s = (
            "failed (NaN) scores omitted"
            if self.score_nan == "omit"
            else f"failed (NaN) scores set to {stats.WORST_SCORE:g} (ranked last)"
        )
        nan_c = (
            "undefined correlations counted as 0" if self.corr_nan == "zero" else "undefined correlations shown as NaN"
        )
        if self.sample_size:
            seeds = f"seeds {self.seeds[0]}–{self.seeds[-1]}" if len(self.seeds) > 1 else f"seed {self.seeds[0]}"
            samp = f"mean over {len(self.seeds)} random samples of {self.sample_size} architectures ({seeds})"
        else:
            samp = "all architectures"
        parts = [
            f"protocol {self.name}",
            f"target: {self.target} accuracy",
            f"correlations {sign}",
            nan_s,
            nan_c,
            samp,
        ]
        if self.transforms:
            parts.append("transforms: " + ", ".join(f"{p} {t}" for p, t in self.transforms.items()))
        parts.extend(notes)
        return "; ".join(parts) + "."


def _protocol_from_dict(data: dict, name: str) -> Protocol:
    known = {f.name for f in fields(Protocol)}
    unknown = set(data) - known
    if unknown:
        raise UsageError(f"protocol {name}: unknown keys {', '.join(sorted(unknown))}")
    data = dict(data)
    data.setdefault("name", name)
    for key in ("seeds", "metrics"):
        if key in data:
            val = data[key]
            if isinstance(val, dict) and {"start", "stop"} <= set(val):  # seeds: {start: 9000, stop: 9010}
                val = range(int(val["start"]), int(val["stop"]))
            data[key] = tuple(val)
    data["transforms"] = dict(data.get("transforms") or {})
    return Protocol(**data)


def load_protocol(name: str | None, **overrides: Any) -> Protocol:
    """A protocol by preset name, YAML path, or ``None``/``plain`` (signed ρ, no sampling); keyword
    overrides (e.g. ``target='test'``) win over the file. ``None`` values are ignored."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if name in (None, "plain"):
        base: dict = {"name": "plain"}
        try:
            base = read_yaml(find_preset("protocol", "plain"))
        except UsageError:
            pass
    else:
        source = find_preset("protocol", name)
        base = read_yaml(source)
        base.setdefault("name", preset_name(source))
    base.update(overrides)
    return _protocol_from_dict(base, str(base.get("name", name)))


def metric_fn(name: str) -> tuple[Callable[[np.ndarray, np.ndarray], float], bool]:
    """``(fn(score, target) -> float, is_correlation)`` for a metric name. Correlations get the
    protocol's sign convention and NaN fill; percentages and counts do not."""
    if name in CORRELATION_METRICS:
        return getattr(stats, name), True
    m = _TOPK_CORR.match(name)
    if m:
        k = float(m.group(2))
        f = stats.top_k_spearman if m.group(1) == "spearman" else stats.top_k_kendall
        return (lambda s, t: f(s, t, k)), True
    m = _OVERLAP.match(name)
    if m:
        k = float(m.group(1))
        return (lambda s, t: stats.top_k_overlap(s, t, k)), False
    m = _TOPN.match(name)
    if m:
        n, k = int(m.group(1)), float(m.group(2))
        return (lambda s, t: stats.top_n_in_top_k(s, t, n, k)), False
    if name == "vote":
        return (lambda s, t: math.nan), False  # computed from several columns, see correlation._vote_samples
    raise UsageError(
        f"unknown metric {name!r} (spearman, kendall, pearson, spearman_topK, kendall_topK, "
        "overlap_topK, topN_in_topK, vote)"
    )


def topk_metrics(k: float) -> list[str]:
    """The extended metric set of Abdelfattah et al. / epsinas for ``--top-k K``."""
    ks = f"{k:g}"
    return [f"spearman_top{ks}", f"kendall_top{ks}", f"overlap_top{ks}", "top64_in_top5"]


DISPLAY_DROP = ("protocol", "sign", "score_nan", "corr_nan", "target")


def display_frame(df: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """For human formats the conventions are in the caption; drop their repeated columns."""
    if fmt in ("csv", "json") or not len(df):
        return df
    return df.drop(columns=[c for c in DISPLAY_DROP if c in df.columns])
