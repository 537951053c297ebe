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
from dataclasses import dataclass, field
from pathlib import Path

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

    def __post_init__(self) -> None:
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
