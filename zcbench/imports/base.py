"""What every importer returns, the file checksum that names its source, and which reader a file needs.

Published per-architecture scores come in other people's vocabularies (NASLib op-index tuples, NB101
module hashes, ``jacob_cov``). A reader converts one file into :class:`ImportedRun` objects that speak
zcbench's (canonical architecture strings, store space and dataset names, zcbench proxy names), so
that storing, correlating and plotting them needs nothing source-specific. The checksum goes with
every run because two files of the same name (NASLib re-released its JSONs) can hold different
numbers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DumpError

READERS = ("naslib", "abdelfattah")
_PICKLE_SUFFIXES = (".p", ".pkl", ".pickle")


@dataclass
class ImportedRun:
    """One published (space, dataset, proxy) column, converted to zcbench's vocabulary."""

    space: str  # zcbench store space: "nb101", "nb201", "nb301[naslib]" (NASLib scored its own smaller
    # DARTS net = zcbench's `--variant naslib`), "tnb101_micro", "tnb101_macro"; "nb201[samsung]" for
    # Abdelfattah et al.'s NB201 files (their NAS201Model = zcbench's `--variant samsung`)
    dataset: str  # zcbench dataset/task name: cifar10, cifar100, ImageNet16-120, class_scene, ...
    proxy: str  # the source's proxy name (synflow, jacov, nwot, zen, ...)
    origin: str  # "naslib" or "abdelfattah"
    archs: list[str]  # canonical zcbench architecture strings (what Space.parse returns), no duplicates
    scores: np.ndarray  # float64, as published (NaN where absent/non-numeric)
    seconds: np.ndarray  # float64 per-arch compute time where published, else NaN
    val_accuracy: np.ndarray  # float64, %, NaN where absent
    test_accuracy: np.ndarray  # float64, %, NaN where absent
    source: str  # file name as given, e.g. "zc_nasbench201.json"
    sha256: str  # of the whole file's bytes
    transform: str = ""  # how published values relate to zcbench's raw ones: "naslib_log" for NASLib's synflow
    # (NASLib logs it, see zcbench.report.stats.naslib_log), "" when the same quantity
    notes: list[str] = field(default_factory=list)  # e.g. archs dropped as duplicates after canonicalisation
    # the notes that are about the whole file (its layout) or the whole (space, dataset) table (its accuracies,
    # its keys): every run of it carries them in ``notes``, and the user reads each once
    file_notes: list[str] = field(default_factory=list)
    table_notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.notes = list(dict.fromkeys([*self.file_notes, *self.table_notes, *self.notes]))
        n = len(self.archs)
        for name in ("scores", "seconds", "val_accuracy", "test_accuracy"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.shape != (n,):
                raise ValueError(f"ImportedRun.{name} has shape {arr.shape}, expected ({n},)")
            setattr(self, name, arr)
        if len(set(self.archs)) != n:
            raise ValueError("ImportedRun.archs has duplicates")

    @property
    def column(self) -> str:
        """The column name of this run in a results frame, e.g. ``synflow@naslib``."""
        return f"{self.proxy}@{self.origin}"


class Absent:
    """An accuracy field an architecture's record does not have (as opposed to a null or a bad value)."""


ABSENT = Absent()


def read_accuracies(values: Sequence[Any], name: str, usual: bool = True) -> tuple[np.ndarray, list[str]]:
    """Published accuracies in % as float64, NaN where a value is absent, not a number, not finite or outside
    0-100 (no accuracy can be), with one note per kind of problem, as bad scores get. ``usual``: whether the
    format normally has the field (then a field absent everywhere is noted too)."""
    out = np.full(len(values), np.nan)
    absent = non_numeric = non_finite = out_of_range = 0
    for i, v in enumerate(values):
        if v is ABSENT or v is None:  # no field, or a null
            absent += 1
        elif isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            non_numeric += 1
        elif not math.isfinite(float(v)):
            non_finite += 1
        elif not 0 <= float(v) <= 100:
            out_of_range += 1
        else:
            out[i] = float(v)
    n, notes = len(values), []
    if absent and (absent < n or usual):
        notes.append(f"{name} absent for {absent} of {n} architectures")
    for count, what in ((non_numeric, "non-numeric"), (non_finite, "non-finite")):
        if count:
            notes.append(f"{count} {what} {name} read as NaN")
    if out_of_range:
        notes.append(f"{out_of_range} {name} outside 0-100 (not a percentage) read as NaN")
    return out, notes


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (the NB101 files are hundreds of MB)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as err:
        raise DumpError(f"{path}: cannot read ({err.strerror or err})") from None
    return h.hexdigest()


def looks_like_pickle(head: bytes) -> bool:
    """Protocol 2+ pickles start with PROTO (0x80); Samsung's files were written by Python 3.7 (protocol 3)."""
    return head[:1] == b"\x80"


def detect(path: str | Path) -> str:
    """Which reader ``path`` needs: ``"naslib"`` (a NAS-Bench-Suite-Zero JSON) or ``"abdelfattah"``
    (Abdelfattah et al.'s appended pickles, or a folder of them). Looks at the first bytes only;
    raises DumpError with one line for anything else."""
    p = Path(path)
    if not p.exists():
        raise DumpError(f"{p}: no such file or directory")
    if p.is_dir():
        files = [f for f in sorted(p.iterdir()) if f.is_file() and not f.name.startswith(".")]
        if files and all(looks_like_pickle(_head(f)) for f in files):
            return "abdelfattah"
        raise DumpError(f"{p}: a folder is only accepted when it holds Abdelfattah et al.'s pickles and nothing else")
    head = _head(p)
    if looks_like_pickle(head):
        return "abdelfattah"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return "naslib"
    raise DumpError(
        f"{p}: neither a NAS-Bench-Suite-Zero JSON (zc_*.json) nor an Abdelfattah et al. pickle (nb2_*.p, nb1_*.p)"
    )


def _head(path: Path, n: int = 64) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as err:
        raise DumpError(f"{path}: cannot read ({err.strerror or err})") from None
