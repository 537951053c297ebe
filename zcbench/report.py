"""Correlation tables from a results frame, protocol presets and published numbers, and their output.

A *protocol* (``configs/protocols/<name>.yaml``) fixes everything that changes a published number
besides the scores themselves: target (val/test), sign convention, how failed scores and undefined
correlations count, whether architectures are subsampled, and which metrics are reported. A *paper*
(``configs/papers/<name>.yaml``) holds published cells with their source and protocol, so that
``compare_paper`` can put ours | paper | Δ side by side and mark what cannot be computed.
Everything here works on the long frame of ``zcbench.store.load_frame``; no file format is
decided here except the YAML presets and the text output formats.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from . import stats
from .errors import UsageError

META_COLUMNS = ("space", "dataset", "index", "arch", "val_accuracy", "test_accuracy")
VOTE_PROXIES = ("synflow", "jacov", "snip")
TARGETS = ("val", "test")
FORMATS = ("table", "markdown", "csv", "json", "latex")
CORRELATION_METRICS = ("spearman", "kendall", "pearson")
_TOPK_CORR = re.compile(r"^(spearman|kendall)_top(\d+(?:\.\d+)?)$")
_OVERLAP = re.compile(r"^overlap_top(\d+(?:\.\d+)?)$")
_TOPN = re.compile(r"^top(\d+)_in_top(\d+(?:\.\d+)?)$")
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"naslib_log": stats.naslib_log}


# -- where presets live ------------------------------------------------------------------------
def config_dirs() -> list[Path]:
    """Directories searched for ``protocols/`` and ``papers/``: ``$ZCBENCH_CONFIGS``, the
    repository's ``configs/`` (editable install), ``<prefix>/share/zcbench/configs`` (where a
    regular ``pip install`` puts them) and ``./configs``."""
    dirs = []
    if os.environ.get("ZCBENCH_CONFIGS"):
        dirs.append(Path(os.environ["ZCBENCH_CONFIGS"]))
    dirs.append(Path(__file__).resolve().parents[1] / "configs")
    dirs.append(Path(sys.prefix) / "share" / "zcbench" / "configs")
    dirs.append(Path.cwd() / "configs")
    return dirs


def _find_yaml(kind: str, name: str) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise UsageError(f"{kind} file {name} does not exist")
        return p
    for d in config_dirs():
        cand = d / f"{kind}s" / f"{name}.yaml"
        if cand.is_file():
            return cand
    known = sorted(
        {c.stem for d in config_dirs() if (d / f"{kind}s").is_dir() for c in (d / f"{kind}s").glob("*.yaml")}
    )
    raise UsageError(f"unknown {kind} {name!r} (known: {', '.join(known) or 'none found'})")


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a YAML mapping")
    return data


def list_presets(kind: str) -> list[str]:
    """Names of the protocol or paper presets that can be found."""
    return sorted({c.stem for d in config_dirs() if (d / f"{kind}s").is_dir() for c in (d / f"{kind}s").glob("*.yaml")})


# -- protocols ---------------------------------------------------------------------------------
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
            base = _read_yaml(_find_yaml("protocol", "plain"))
        except UsageError:
            pass
    else:
        path = _find_yaml("protocol", name)
        base = _read_yaml(path)
        base.setdefault("name", path.stem)
    base.update(overrides)
    return _protocol_from_dict(base, str(base.get("name", name)))


# -- metrics -----------------------------------------------------------------------------------
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
        return (lambda s, t: math.nan), False  # computed from several columns, see _vote_value
    raise UsageError(
        f"unknown metric {name!r} (spearman, kendall, pearson, spearman_topK, kendall_topK, "
        "overlap_topK, topN_in_topK, vote)"
    )


def topk_metrics(k: float) -> list[str]:
    """The extended metric set of Abdelfattah et al. / epsinas for ``--top-k K``."""
    ks = f"{k:g}"
    return [f"spearman_top{ks}", f"kendall_top{ks}", f"overlap_top{ks}", "top64_in_top5"]


# -- tables ------------------------------------------------------------------------------------
def proxy_columns(frame: pd.DataFrame) -> list[str]:
    """Score columns: numeric columns that are not metadata, timings or error strings (``vote``
    has no column of its own: it is computed from synflow, jacov and snip)."""
    out = []
    for c in frame.columns:
        if c in META_COLUMNS or c == "vote" or str(c).endswith(("_time", "_seconds", "_error")):
            continue
        if pd.api.types.is_numeric_dtype(frame[c]):
            out.append(str(c))
    return out


def _select(names: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    if not patterns:
        return list(names)
    import fnmatch

    out = []
    for pat in patterns:
        for part in str(pat).split(","):
            hits = [n for n in names if fnmatch.fnmatchcase(n, part.strip())]
            out.extend(h for h in hits if h not in out)
    return out


def _vote_value(block: pd.DataFrame, target: np.ndarray, protocol: Protocol) -> float:
    mat = np.vstack([_scores(block, p, protocol) for p in VOTE_PROXIES])
    return stats.vote(mat, target, protocol.score_nan)


def _scores(block: pd.DataFrame, proxy: str, protocol: Protocol) -> np.ndarray:
    s = block[proxy].to_numpy(dtype=np.float64)
    t = protocol.transforms.get(proxy)
    return TRANSFORMS[t](s) if t else s


def _finish(value: float, is_corr: bool, protocol: Protocol) -> float:
    if not is_corr:
        return value
    return stats.fill_corr_nan(stats.apply_sign(value, protocol.sign), protocol.corr_nan)


def correlation_table(
    frame: pd.DataFrame,
    protocol: Protocol | None = None,
    metrics: Sequence[str] | None = None,
    proxies: Sequence[str] | None = None,
    spaces: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    vote: bool | None = None,
    ci: bool = False,
    ci_resamples: int = 1000,
    ci_seed: int = 0,
) -> pd.DataFrame:
    """One row per (space, dataset, proxy): ``n`` and each metric under ``protocol``.

    Columns: ``space, dataset, proxy, target, protocol, sign, score_nan, corr_nan, n, samples``,
    then the metrics (and ``<metric>_lo/_hi`` with ``ci``). ``n`` counts the architectures that
    entered one correlation (per sample when sampling). ``df.attrs['notes']`` holds caveats
    (e.g. fewer architectures than the sample size) that belong in the caption.
    """
    protocol = protocol or Protocol()
    metrics = list(metrics or protocol.metrics)
    for m in metrics:
        metric_fn(m)
    want_vote = protocol.vote if vote is None else vote
    if want_vote and "vote" not in metrics:
        metrics.append("vote")
    tcol = f"{protocol.target}_accuracy"
    missing = [c for c in ("space", "dataset") if c not in frame.columns]
    if missing:
        raise UsageError(f"results frame lacks column(s) {', '.join(missing)}")
    rows: list[dict] = []
    notes: list[str] = []
    all_proxies = proxy_columns(frame)
    chosen = _select(all_proxies, proxies)
    if proxies and not chosen and not (want_vote and any("vote" in str(p) for p in proxies)):
        raise UsageError(f"no proxy column matches {', '.join(proxies)} (have: {', '.join(all_proxies) or 'none'})")
    for (space, dataset), block in frame.groupby(["space", "dataset"], sort=True):
        if spaces and space not in spaces or datasets and dataset not in datasets:
            continue
        block = block.reset_index(drop=True)
        if tcol not in block.columns:
            target_all = np.full(len(block), np.nan)
        else:
            target_all = block[tcol].to_numpy(dtype=np.float64)
        has_target = np.isfinite(target_all)
        avail = int(has_target.sum())
        if avail == 0:
            notes.append(f"{space}/{dataset}: no {protocol.target} accuracies (dump not loaded?)")
        pool = np.flatnonzero(has_target)
        if protocol.sample_size:
            idx_sets = [pool[stats.sample_indices(pool.size, int(protocol.sample_size), s)] for s in protocol.seeds]
            if 0 < pool.size < int(protocol.sample_size):
                notes.append(
                    f"{space}/{dataset}: only {pool.size} architectures with a {protocol.target} accuracy, "
                    f"fewer than {protocol.sample_size}: every seed uses all of them"
                )
        else:
            idx_sets = [pool]
        names = list(chosen)
        vote_ok = want_vote and all(p in block.columns for p in VOTE_PROXIES)
        if want_vote and not vote_ok:
            notes.append(f"{space}/{dataset}: vote needs {', '.join(VOTE_PROXIES)} scores")
        if vote_ok:
            names.append("vote")
        for proxy in names:
            row: dict[str, Any] = {
                "space": space,
                "dataset": dataset,
                "proxy": proxy,
                "target": protocol.target,
                "protocol": protocol.name,
                "sign": protocol.sign,
                "score_nan": protocol.score_nan,
                "corr_nan": protocol.corr_nan,
            }
            if proxy == "vote":
                score = None
            else:
                score = _scores(block, proxy, protocol)
            per_metric: dict[str, list[float]] = {m: [] for m in metrics}
            ns = []
            for idx in idx_sets:
                t = target_all[idx]
                if proxy == "vote":
                    if idx.size > protocol.vote_max_n:
                        v = math.nan
                        notes.append(f"{space}/{dataset}: vote skipped, {idx.size} > vote_max_n {protocol.vote_max_n}")
                    else:
                        v = _vote_value(block.iloc[idx], t, protocol)
                    ns.append(
                        int(
                            np.sum(
                                np.all(
                                    np.isfinite(
                                        np.vstack([_scores(block.iloc[idx], p, protocol) for p in VOTE_PROXIES])
                                    ),
                                    axis=0,
                                )
                            )
                        )
                        if protocol.score_nan == "omit"
                        else idx.size
                    )
                    for m in metrics:
                        per_metric[m].append(v if m == "vote" else math.nan)
                    continue
                s = score[idx]
                cs, ct = stats.clean_pair(s, t, protocol.score_nan)
                ns.append(int(cs.size))
                for m in metrics:
                    fn, is_corr = metric_fn(m)
                    per_metric[m].append(_finish(fn(cs, ct), is_corr, protocol))
            row["n"] = int(ns[0]) if len(set(ns)) == 1 else float(np.mean(ns)) if ns else 0
            row["samples"] = len(idx_sets)
            for m in metrics:
                vals = per_metric[m]
                row[m] = float(np.mean(vals)) if vals else math.nan
            if ci and proxy != "vote":
                cs, ct = stats.clean_pair(score[pool], target_all[pool], protocol.score_nan)
                for m in metrics:
                    fn, is_corr = metric_fn(m)
                    lo, hi = stats.bootstrap_ci(
                        lambda a, b, fn=fn, is_corr=is_corr: _finish(fn(a, b), is_corr, protocol),
                        cs,
                        ct,
                        ci_resamples,
                        seed=ci_seed,
                    )
                    row[f"{m}_lo"], row[f"{m}_hi"] = lo, hi
            rows.append(row)
    out = pd.DataFrame(rows)
    if ci:
        notes.append(
            f"95% intervals: percentile bootstrap over all architectures, {ci_resamples} resamples, seed {ci_seed}"
        )
    out.attrs["notes"] = list(dict.fromkeys(notes))
    out.attrs["caption"] = protocol.caption(out.attrs["notes"])
    return out


# -- papers ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaperTable:
    """Published cells of one table: ``values[dataset][proxy]`` for one space and one metric."""

    id: str
    space: str
    metric: str
    protocol: str
    values: dict
    source: str = ""
    caption: str = ""
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Paper:
    name: str
    title: str
    source: str
    tables: tuple[PaperTable, ...]
    notes: str = ""


def load_paper(name: str) -> Paper:
    """A paper preset by name or YAML path (see ``configs/papers/*.yaml``)."""
    path = _find_yaml("paper", name)
    data = _read_yaml(path)
    tables = []
    for i, t in enumerate(data.get("tables") or []):
        try:
            tables.append(
                PaperTable(
                    id=str(t.get("id", f"table{i + 1}")),
                    space=str(t["space"]),
                    metric=str(t.get("metric", "spearman")),
                    protocol=str(t.get("protocol", data.get("protocol", "plain"))),
                    values={
                        str(d): {str(p): float(v) for p, v in (cells or {}).items()} for d, cells in t["values"].items()
                    },
                    source=str(t.get("source", "")),
                    caption=str(t.get("caption", "")),
                    overrides=dict(t.get("overrides") or {}),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise UsageError(f"{path}: table {i + 1} is malformed ({type(err).__name__}: {err})") from None
    if not tables:
        raise UsageError(f"{path}: no tables")
    return Paper(
        str(data.get("name", path.stem)),
        str(data.get("title", "")),
        str(data.get("source", "")),
        tuple(tables),
        str(data.get("notes", "")),
    )


def compare_paper(
    frame: pd.DataFrame, paper: Paper, target: str | None = None, tables: Sequence[str] | None = None
) -> pd.DataFrame:
    """ours | paper | Δ for every published cell, with ``status`` ``ok`` or why it is missing.

    Each table is computed under its own protocol (plus the table's ``overrides``; ``target``
    overrides both). A cell is never dropped: missing scores, results or accuracies are marked.
    """
    rows = []
    captions: dict[str, list[str]] = {}
    notes: list[str] = []
    for tab in paper.tables:
        if tables and tab.id not in tables:
            continue
        over = dict(tab.overrides)
        if target is not None:
            over["target"] = target
        proto = load_protocol(tab.protocol, **over)
        captions.setdefault(proto.caption(), []).append(tab.id)
        present = frame[frame["space"] == tab.space] if "space" in frame.columns else frame.iloc[0:0]
        proxies_needed = sorted({p for cells in tab.values.values() for p in cells})
        have_cols = set(proxy_columns(frame))
        metric = tab.metric
        ours_tab = pd.DataFrame()
        if len(present):
            want = [p for p in proxies_needed if p in have_cols]
            need_vote = "vote" in proxies_needed
            if want or need_vote:
                ours_tab = correlation_table(
                    present,
                    proto,
                    metrics=[metric],
                    proxies=want or None,
                    vote=need_vote,
                )
                if not want:  # only the vote row was asked for
                    ours_tab = ours_tab[ours_tab["proxy"] == "vote"] if len(ours_tab) else ours_tab
                notes.extend(ours_tab.attrs.get("notes", []))
        for dataset, cells in tab.values.items():
            sub = present[present["dataset"] == dataset] if len(present) else present
            tcol = f"{proto.target}_accuracy"
            for proxy, published in cells.items():
                row = {
                    "table": tab.id,
                    "space": tab.space,
                    "dataset": dataset,
                    "proxy": proxy,
                    "metric": metric,
                    "protocol": proto.name,
                    "target": proto.target,
                    "sign": proto.sign,
                    "ours": math.nan,
                    "paper": published,
                    "delta": math.nan,
                    "n": 0,
                    "status": "ok",
                }
                needs = list(VOTE_PROXIES) if proxy == "vote" else [proxy]
                if not len(sub):
                    row["status"] = f"missing: no results for {tab.space}/{dataset}"
                elif tcol not in sub.columns or not np.isfinite(sub[tcol].to_numpy(dtype=float)).any():
                    row["status"] = f"missing: no {proto.target} accuracies (benchmark dump not loaded)"
                elif any(p not in sub.columns or not np.isfinite(sub[p].to_numpy(dtype=float)).any() for p in needs):
                    lacking = [
                        p for p in needs if p not in sub.columns or not np.isfinite(sub[p].to_numpy(dtype=float)).any()
                    ]
                    row["status"] = f"missing: no {', '.join(lacking)} scores"
                else:
                    hit = (
                        ours_tab[(ours_tab["dataset"] == dataset) & (ours_tab["proxy"] == proxy)]
                        if len(ours_tab)
                        else ours_tab
                    )
                    if not len(hit) or not np.isfinite(hit.iloc[0][metric]):
                        row["status"] = "undefined (NaN correlation)"
                    else:
                        row["ours"] = float(hit.iloc[0][metric])
                        row["n"] = hit.iloc[0]["n"]
                        row["delta"] = row["ours"] - published
                rows.append(row)
    out = pd.DataFrame(rows)
    parts = [f"{', '.join(ids)}: {cap}" for cap, ids in captions.items()]
    notes = list(dict.fromkeys(notes))
    out.attrs["notes"] = notes
    out.attrs["caption"] = (
        f"{paper.name}: {paper.title} — source {paper.source}. Δ = ours − paper; "
        "'missing' cells cannot be computed from these results. "
        + " | ".join(parts)
        + (" Notes: " + "; ".join(notes) + "." if notes else "")
    )
    return out


def check_failures(comparison: pd.DataFrame, tol: float) -> list[str]:
    """Cells whose |Δ| exceeds ``tol`` (empty list = pass)."""
    if not len(comparison):
        return []
    bad = comparison[np.abs(comparison["delta"].astype(float)) > tol]
    return [
        f"{r.table} {r.space}/{r.dataset} {r.proxy} {r.metric}: "
        f"ours {r.ours:.3f} vs paper {r.paper:.3f} (Δ {r.delta:+.3f})"
        for r in bad.itertuples()
    ]


# -- formatting --------------------------------------------------------------------------------
def _cell(v: Any, digits: int) -> str:
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "–"
        return f"{v:.{digits}f}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def _text_rows(df: pd.DataFrame, digits: int) -> tuple[list[str], list[list[str]]]:
    cols = [str(c) for c in df.columns]
    rows = [[_cell(v, digits) for v in rec] for rec in df.itertuples(index=False, name=None)]
    return cols, rows


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
    "–": "--",
    "−": "$-$",
    "Δ": r"$\Delta$",
    "ρ": r"$\rho$",
    "τ": r"$\tau$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESC.get(ch, ch) for ch in str(text))


def format_frame(df: pd.DataFrame, fmt: str, caption: str = "", digits: int = 3) -> str:
    """Render a table as ``table`` (aligned text), ``markdown``, ``csv``, ``json`` (list of
    objects, NaN → null) or ``latex`` (booktabs). Text formats carry ``caption``; CSV and JSON
    carry the conventions as columns instead (``protocol, sign, score_nan, corr_nan``)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False, float_format=f"%.{max(digits, 6)}g")
        return buf.getvalue()
    if fmt == "json":
        recs = []
        for rec in df.to_dict(orient="records"):
            clean = {}
            for k, v in rec.items():
                if isinstance(v, (np.integer,)):
                    v = int(v)
                elif isinstance(v, (float, np.floating)):
                    v = None if math.isnan(v) else float(v)
                clean[str(k)] = v
            recs.append(clean)
        return json.dumps(recs, indent=2, ensure_ascii=False) + "\n"
    cols, rows = _text_rows(df, digits)
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    if fmt == "table":
        widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]

        def line(vals: list[str]) -> str:
            return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(vals, widths, numeric)).rstrip()

        out = [line(cols), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
        if caption:
            out.append("")
            out.append(caption)
        return "\n".join(out) + "\n"
    if fmt == "markdown":
        esc = [[v.replace("|", r"\|") for v in r] for r in rows]
        out = []
        if caption:
            out += [f"*{caption}*", ""]
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
        out += ["| " + " | ".join(r) + " |" for r in esc]
        return "\n".join(out) + "\n"
    # latex (booktabs)
    spec = "".join("r" if num else "l" for num in numeric)
    out = [r"\begin{table}[t]", r"\centering"]
    if caption:
        out.append(r"\caption{" + latex_escape(caption) + "}")
    out += [r"\begin{tabular}{" + spec + "}", r"\toprule"]
    out.append(" & ".join(latex_escape(c) for c in cols) + r" \\")
    out.append(r"\midrule")
    out += [" & ".join(latex_escape(v) for v in r) + r" \\" for r in rows]
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


DISPLAY_DROP = ("protocol", "sign", "score_nan", "corr_nan", "target")


def display_frame(df: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """For human formats the conventions are in the caption; drop their repeated columns."""
    if fmt in ("csv", "json") or not len(df):
        return df
    return df.drop(columns=[c for c in DISPLAY_DROP if c in df.columns])
