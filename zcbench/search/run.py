"""One ``zcbench search`` from a results frame and merged settings (``config.resolve_config``) to the speed-up
table, the curves and their caption; the CLI and ``zcbench.api.search`` both call :func:`search_results`.

Every dataset's domain is built and checked (sizes, mutation operator, the dump's accuracies) before the
first round runs, so a bad setting for the last dataset fails before any search of the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..predictors.run import infer
from .algorithms import SearchSettings
from .config import REPORTS
from .problem import SearchProblem, problem_from_frame
from .speedup import check_sizes, curves_frame, plan_variants, run_search, speedup_table


@dataclass
class SearchReport:
    """What one search prints and writes: the table (one row per dataset and variant), the mean curves, the
    reported curve (``test``, ``val`` or ``best_test``), the caption and notes for stderr."""

    table: pd.DataFrame
    curves: pd.DataFrame
    which: str
    caption: str
    title: str = ""
    notes: list[str] = field(default_factory=list)


def settings_of(cfg: Mapping[str, Any]) -> SearchSettings:
    keys = ("warmup", "move", "population", "sample", "cycles", "candidates", "min_train", "model", "features",
            "offspring", "explore")  # fmt: skip
    return SearchSettings(**{k: cfg[k] for k in keys}, count_repeats=cfg["count"] == "queries")


def apply_dump(problem: SearchProblem, dump: str, dataset: str) -> None:
    """Take validation and test accuracy from the dump as the benchmark's search papers report them
    (``Space.search_accuracies``; NB201 CIFAR-10: test from the ``cifar10`` entry). The results file's
    validation accuracies must be the dump's: anything else means another dump or schedule."""
    bench = problem.space.load_dump(dump, dataset)
    truth = problem.space.search_accuracies(bench)
    missing = [a for a in problem.archs if a not in truth]
    if missing:
        raise UsageError(f"{dump}: {len(missing)} results architectures are not in this dump (e.g. {missing[0]})")
    val = np.array([truth[a][0] for a in problem.archs], dtype=float)
    if not np.allclose(val, problem.val, rtol=0, atol=1e-6, equal_nan=True):
        raise UsageError(
            f"{dump}: the results' {dataset} validation accuracies are not this dump's (scored from another dump "
            "or --epochs?)"
        )
    problem.test = np.array([truth[a][1] for a in problem.archs], dtype=float)


def _problems(frame: pd.DataFrame, cfg: Mapping[str, Any], where: str) -> tuple[str, dict[str, SearchProblem]]:
    from ..spaces import get_space

    space = infer(frame, "space", cfg["space"], where)
    datasets = cfg["dataset"] or [infer(frame, "dataset", None, where, space=space)]
    for ds in datasets:
        infer(frame, "dataset", ds, where, space=space)
    if not cfg["proxy"]:
        raise UsageError("give --proxy (the proxy that ranks architectures, e.g. synflow; params for none)")
    problems = {ds: problem_from_frame(frame, get_space(space), ds, cfg["proxy"]) for ds in datasets}
    if cfg["dump"]:
        for ds, problem in problems.items():
            apply_dump(problem, cfg["dump"], ds)
    return space, problems


def _test_source(space: str, dataset: str, dump: str | None, problem: SearchProblem) -> str:
    if not np.isfinite(problem.test).any():
        return "no test accuracies"
    if space == "nb201" and dataset == "cifar10":
        return "test: NB201's cifar10 entry (train+valid)" if dump else "test: NB201's cifar10-valid entry"
    return "test: the results file's" if not dump else "test: the dump's"


def search_results(frame: pd.DataFrame, cfg: Mapping[str, Any], where: str = "the results") -> SearchReport:
    """Run the search ``cfg`` describes on every dataset it names and assemble the report."""
    if not len(frame):
        raise UsageError(f"{where}: the results file has no rows")
    space, problems = _problems(frame, cfg, where)
    variants, baselines = plan_variants(cfg["algo"], settings_of(cfg), cfg["baseline"])
    for problem in problems.values():
        check_sizes(problem, variants, cfg["budget"], cfg["rounds"])
    which = REPORTS[cfg["report"]]
    for ds, problem in problems.items():
        if which != "val" and not np.isfinite(problem.test).any():
            raise UsageError(
                f"{space}/{ds}: {where} holds no test accuracies (imported NAS-Bench-Suite-Zero files publish "
                "validation accuracies only): use --report val, or give --dump"
            )
    tables, curves, notes = [], [], []
    for ds, problem in problems.items():
        res = run_search(problem, variants, cfg["budget"], cfg["rounds"], cfg["seed"])
        tables.append(speedup_table(res, baselines, which).assign(dataset=ds))
        curves.append(curves_frame(res).assign(dataset=ds))
        if space == "nb201" and ds == "cifar10" and not cfg["dump"] and np.isfinite(problem.test).any():
            notes.append("CIFAR-10 test accuracies are the cifar10-valid entry's; give --dump for the cifar10 "
                         "entry (trained on train+valid) that NB201 search papers report")  # fmt: skip
    table = pd.concat(tables, ignore_index=True)
    table = table[["dataset", *[c for c in table.columns if c != "dataset"]]]
    table = add_published(table, cfg.get("published"))
    sizes = "; ".join(f"{ds}: {len(p)} architectures in the domain, {_test_source(space, ds, cfg['dump'], p)}"
                      for ds, p in problems.items())  # fmt: skip
    first, last = cfg["seed"], cfg["seed"] + cfg["rounds"] - 1
    title = f"{space}/{'+'.join(problems)}, proxy {', '.join(cfg['proxy'])}"
    caption = (
        f"{title}. {sizes}. {cfg['rounds']} rounds (seeds {first}..{last}) x "
        f"{cfg['budget']} trained models. " + tables[0].attrs["caption"] + _published_caption(cfg.get("published"))
    )
    curve_frame = pd.concat(curves, ignore_index=True)
    curve_frame = curve_frame[["dataset", *[c for c in curve_frame.columns if c != "dataset"]]]
    return SearchReport(table, curve_frame, which, caption, title, notes)


def add_published(table: pd.DataFrame, published: Mapping[str, Any] | None) -> pd.DataFrame:
    """``paper_val``, ``paper_test`` and ``delta_val``/``delta_test`` (ours − paper) on the rows of the
    published variant (every ``predictor-evolution`` row when it names none) of each dataset it lists."""
    if not published:
        return table
    out = table.copy()
    out["paper_val"], out["paper_test"] = np.nan, np.nan
    variant = published.get("variant")
    rows = out["variant"] == variant if variant else out["variant"].str.startswith("predictor-evolution")
    for ds, cell in published.items():
        if ds in ("source", "variant"):
            continue
        hit = rows & (out["dataset"] == ds)
        out.loc[hit, "paper_val"] = float(cell.get("val", np.nan))
        out.loc[hit, "paper_test"] = float(cell.get("test", np.nan))
    out["delta_val"] = out["final_val"] - out["paper_val"]
    out["delta_test"] = out["final_test"] - out["paper_test"] if "final_test" in out else np.nan
    return out


def _published_caption(published: Mapping[str, Any] | None) -> str:
    if not published:
        return ""
    return (
        f" paper_val, paper_test: {published.get('source', 'the published values')}; delta = ours − paper "
        "(our mean over rounds)."
    )
