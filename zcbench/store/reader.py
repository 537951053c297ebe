"""Reading a results file (plus its journal) as runs, one run's columns, a wide frame, or coverage.

Needs h5py, numpy and pandas only — never torch — so ``export``, ``correlate``, ``status`` and
``merge`` start fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from .rows import (
    RunRows,
    check_results_file,
    empty_columns,
    group_attrs,
    h5py,
    journal_path,
    read_group,
    read_journal,
    runs_with_journal,
)
from .schema import NO_TRUTH, RunKey

META = ("space", "dataset", "index", "arch")
ACCURACIES = ("val_accuracy", "test_accuracy")


def read_run(path: str | Path, key: RunKey) -> dict[str, np.ndarray]:
    """Columns of one run (file plus journal); empty columns when the run does not exist."""
    _, rows = run_state(path, key)
    return rows.columns() if rows.rows else empty_columns()


def run_state(path: str | Path, key: RunKey) -> tuple[dict[str, Any] | None, RunRows]:
    """A run's attributes (None when the file does not hold it yet) and rows, file plus journal."""
    path = Path(path)
    attrs, rows = None, RunRows()
    if path.exists():
        check_results_file(path)
        with h5py().File(path, "r") as f:
            if key.path in f:
                attrs, rows = group_attrs(f[key.path]), RunRows(read_group(f[key.path]))
    for k, info, row in read_journal(journal_path(path)):
        if k.path == key.path:
            if attrs is None:
                from dataclasses import asdict

                attrs = asdict(k) | info.attrs()
            rows.add(row, strict=False)
    return attrs, rows


def iter_runs(path: str | Path) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """Every run of a results file (plus its journal) as (attributes, columns). A journal without its file
    (a writer killed during its first commit) is read alone: its rows are durable."""
    path = Path(path)
    if not path.exists() and not journal_path(path).is_file():
        raise StoreError(f"{path}: no such results file")
    return [(attrs, rows.columns()) for attrs, rows in runs_with_journal(path).values()]


def _pick_runs(path, seed: int | None, batch_size: int | None) -> dict[tuple[str, str, str], tuple[dict, dict]]:
    """One run per (space, dataset, proxy column): ``seed``/``batch_size`` select, else the latest updated."""
    chosen: dict[tuple[str, str, str], tuple[dict, dict]] = {}
    for attrs, cols in iter_runs(path):
        if seed is not None and not attrs.get("source") and int(attrs.get("seed", -1)) != seed:
            continue
        if batch_size is not None and not attrs.get("data_free") and not attrs.get("source"):
            if int(attrs.get("batch_size", -1)) != batch_size:
                continue
        k = (attrs["space"], attrs["dataset"], attrs["proxy"])
        if k not in chosen or str(attrs.get("updated", "")) >= str(chosen[k][0].get("updated", "")):
            chosen[k] = (attrs, cols)
    return chosen


def load_frame(path: str | Path, seed: int | None = None, batch_size: int | None = None):
    """One row per (space, dataset, arch): ``space, dataset, index, arch, <proxy>..., val_accuracy,
    test_accuracy`` (and ``val_accuracy:<proxy>``/``test_accuracy:<proxy>`` for a run whose accuracies come from
    another truth than the table's: see :mod:`zcbench.store.columns`). Where a proxy has several runs
    (settings), ``seed``/``batch_size`` select; otherwise the most recently updated run wins. Imported scores
    are columns ``<proxy>@<origin>``."""
    import pandas as pd

    per_table: dict[tuple[str, str], list] = {}
    for (space, dataset, proxy), (attrs, cols) in _pick_runs(path, seed, batch_size).items():
        df = pd.DataFrame(
            {
                "index": cols["index"].astype(np.int64),
                "arch": cols["arch"].astype(str),
                proxy: cols["score"].astype(float),
                "val_accuracy": cols["val_accuracy"].astype(float),
                "test_accuracy": cols["test_accuracy"].astype(float),
            }
        )
        per_table.setdefault((space, dataset), []).append((proxy, attrs, df))
    if not per_table:
        return pd.DataFrame(columns=[*META, *ACCURACIES])
    frames = [_table(space, dataset, parts) for (space, dataset), parts in per_table.items()]
    out = pd.concat(frames, ignore_index=True)
    own = sorted(c for c in out.columns if ":" in str(c) and str(c).split(":", 1)[0] in ACCURACIES)
    proxies = sorted(c for c in out.columns if c not in (*META, *ACCURACIES, *own))
    out = out[[*META, *proxies, *ACCURACIES, *own]]
    return out.sort_values(["space", "dataset", "index", "arch"], kind="stable").reset_index(drop=True)


def _truth(attrs: dict[str, Any]) -> str:
    """A run's truth, '' when it has none of its own (scored without a dump, or an older file that did not
    record it: such runs are read against the table's accuracies)."""
    truth = str(attrs.get("truth", ""))
    return "" if truth == NO_TRUTH else truth


def main_truth(runs: list[dict[str, Any]]) -> str:
    """The truth of a table's accuracy columns: the one most of zcbench's own runs share (ties: the most
    recently updated), else the one most imported runs share; '' when no run has one."""
    for own in (True, False):
        tally: dict[str, list] = {}
        for attrs in runs:
            truth = _truth(attrs)
            if truth and bool(attrs.get("source")) != own:
                tally.setdefault(truth, []).append(str(attrs.get("updated", "")))
        if tally:
            return max(tally, key=lambda t: (len(tally[t]), max(tally[t])))
    return ""


def _table(space: str, dataset: str, parts: list):
    """One (space, dataset) block of :func:`load_frame`: scores, the main accuracies (the first finite value per
    architecture among the runs of the main truth or of none) and each other-truth run's own accuracies."""
    import pandas as pd

    main = main_truth([attrs for _, attrs, _ in parts])
    shared = [(p, df) for p, attrs, df in parts if _truth(attrs) in ("", main)]
    others = [(p, df) for p, attrs, df in parts if _truth(attrs) not in ("", main)]
    scores = pd.concat([df.set_index("arch")[[p]] for p, _, df in parts], axis=1, sort=False)
    allrows = pd.concat([df[["arch", "index"]] for _, _, df in parts], ignore_index=True)
    meta = allrows.groupby("arch", sort=False).agg(index=("index", "max"))  # the official index where any run knows it
    acc = pd.concat([df[["arch", *ACCURACIES]] for _, df in shared], ignore_index=True)
    meta = meta.join(acc.groupby("arch", sort=False).agg(**{a: (a, "first") for a in ACCURACIES}))
    for proxy, df in others:
        mine = df.set_index("arch")[list(ACCURACIES)]
        meta = meta.join(mine.rename(columns={a: f"{a}:{proxy}" for a in ACCURACIES}))
    block = meta.join(scores, how="left").reset_index()
    block.insert(0, "dataset", dataset)
    block.insert(0, "space", space)
    return block


OOM_ADVICE = (
    "out of GPU memory: score with fewer --workers per GPU or a smaller --batch-size, then --retry-failed "
    "(or --oom split: the minibatch in pieces, a run of its own)"
)


@dataclass
class Coverage:
    """How complete one run of a results file is (``zcbench status``)."""

    space: str
    dataset: str
    proxy: str
    setting: str
    done: int  # architectures with a finite score
    failed: int  # architectures recorded with an error (NaN score)
    missing: int  # architectures of this (space, dataset) elsewhere in the file but not in this run
    reasons: dict[str, int] = field(default_factory=dict)  # error -> count among the failed
    code: str = ""  # which code computed it: zcbench <version>, a plugin's fingerprint, or the import source

    def advice(self) -> list[str]:
        """What to do about the failures, where that is known (out of memory: ``proxies.runner.oom_reason``)."""
        return [OOM_ADVICE] if any(r.lower().startswith("out of memory") for r in self.reasons) else []


def _code_label(attrs: dict[str, Any]) -> str:
    if attrs.get("source"):
        return str(attrs["source"]).split(":sha256=")[0]
    if attrs.get("code"):
        return f"plugin {attrs['code']}"
    return f"zcbench {attrs['zcbench']}" if attrs.get("zcbench") else ""


def coverage(path: str | Path) -> list[Coverage]:
    """Per run: done, failed (with reasons) and missing architectures. 'Missing' is relative to the
    union of architectures recorded for the same (space, dataset) by any run of the file, so a proxy
    that lags behind the others shows up."""
    runs = iter_runs(path)
    universe: dict[tuple[str, str], set[str]] = {}
    for attrs, cols in runs:
        universe.setdefault((attrs["space"], attrs["dataset"]), set()).update(cols["arch"].tolist())
    out = []
    for attrs, cols in runs:
        reasons: dict[str, int] = {}
        for err in cols["error"].tolist():
            if err:
                reasons[err] = reasons.get(err, 0) + 1
        failed = sum(reasons.values())
        archs = set(cols["arch"].tolist())
        every = universe[(attrs["space"], attrs["dataset"])]
        key = RunKey.from_attrs(attrs)
        out.append(
            Coverage(
                attrs["space"],
                attrs["dataset"],
                attrs["proxy"],
                key.setting,
                len(archs) - failed,
                failed,
                len(every - archs),
                reasons,
                _code_label(attrs),
            )
        )
    return sorted(out, key=lambda c: (c.space, c.dataset, c.proxy, c.setting))
