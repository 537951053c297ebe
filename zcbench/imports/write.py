"""Imported runs into the results file: one run per (space, dataset, proxy@origin), keyed by the source.

The key's setting is ``src-<hash of the source>``, where the source names the origin, the file and its
SHA-256, so importing the same file twice changes nothing, and two releases of a file under one name
become two runs. The run's truth (where its accuracies come from) is the file itself. A score the file
does not publish (or publishes as NaN) is stored as NaN with the reason, like a failed proxy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..store import ResultStore, Row, RunInfo, RunKey
from .base import ImportedRun


def run_key(run: ImportedRun) -> RunKey:
    return RunKey(
        space=run.space, dataset=run.dataset, proxy=run.column, seed=0, batch_size=0, dataload="none",
        dataload_info=0, data_source="imported", data_free=False,
        source=f"{run.origin}:{Path(run.source).name}:sha256={run.sha256}",
    )  # fmt: skip


def run_info(run: ImportedRun) -> RunInfo:
    truth = f"{Path(run.source).name}:sha256={run.sha256[:12]}"
    extra = {"transform": run.transform} if run.transform else {}
    return RunInfo(dump=str(run.source), truth=truth, device="", versions={"zcbench": __version__}, extra=extra)


def rows(run: ImportedRun, index_of=None) -> list[Row]:
    out = []
    for i, arch in enumerate(run.archs):
        s = float(run.scores[i])
        err = "" if math.isfinite(s) else f"{'no score' if math.isnan(s) else 'non-finite score'} in {run.source}"
        idx = index_of(arch) if index_of is not None else None
        out.append(
            Row(
                -1 if idx is None else int(idx), arch, s if math.isfinite(s) else math.nan,
                float(run.seconds[i]), float(run.val_accuracy[i]), float(run.test_accuracy[i]), err,
            )
        )  # fmt: skip
    return out


@dataclass
class ImportSummary:
    runs: int
    rows: int
    archs: int
    notes: list[str]

    def line(self, out: str) -> str:
        return f"imported {self.runs} runs ({self.rows} rows, {self.archs} architectures) -> {out}"


def _note(run: ImportedRun, note: str) -> str:
    """A note as the user reads it, once: about the file, about a (space, dataset) table, or about one run."""
    if note in run.file_notes:
        return f"{Path(run.source).name}: {note}"
    if note in run.table_notes:
        return f"{run.space}/{run.dataset}: {note}"
    return f"{run.space}/{run.dataset}/{run.column}: {note}"


def store_runs(runs: Sequence[ImportedRun], out: str | Path, index_of=None) -> ImportSummary:
    """Write ``runs`` into the results file ``out`` (created if needed)."""
    n_rows, archs, notes = 0, set(), []
    with ResultStore(out) as store:
        for run in runs:
            r = rows(run, index_of)
            store.append(run_key(run), run_info(run), r)
            n_rows += len(r)
            archs.update((run.space, run.dataset, a) for a in run.archs)
            notes += [_note(run, n) for n in run.notes]
    return ImportSummary(len(runs), n_rows, len(archs), list(dict.fromkeys(notes)))
