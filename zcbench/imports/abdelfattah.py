"""Abdelfattah et al.'s released per-architecture results (SamsungLabs/zero-cost-nas) as :class:`ImportedRun`.

What the public code pins down (``SamsungLabs/zero-cost-nas@a43bfbc``):

* ``nasbench2_pred.py`` (NB201) opens ``nb2_{cf10|cf100|im120}_seed{S}_dl{random}_dlinfo{1}_initw{none}_initb{none}.p``
  in append mode and ``pickle.dump``-s one dict per architecture, in the API's order:
  ``{'i': index, 'arch': official arch string, 'logmeasures': {proxy: value},
  'trainacc', 'valacc', 'testacc'}``, the accuracies from ``api.get_more_info(i, 'cifar10-valid' |
  'cifar100' | 'ImageNet16-120', hp='200', is_random=False)`` in % (absent with ``--noacc``).
  ``notebooks/nasbench201_correlations.ipynb`` reads the three released files back with repeated
  ``pickle.load`` until EOF (15,625 records each) and correlates ``logmeasures`` with ``testacc``.
* ``nasbench1_pred.py`` (NB101) appends ``{'hash': NB101 module hash, 'logmeasures': {...}}``, no
  accuracies; ``notebooks/nasbench101_correlations.ipynb`` reads every file of
  ``results_release/nasbench1/proxies/`` (96 files, 423,624 distinct hashes), keeping the first
  record of each hash. Its target, ``data/nasbench1_accuracy.p`` ``[hash][0]``, is not documented
  (validation or test), so it is not read here: NB101 runs carry no accuracies, and the module hash
  is turned into an architecture by a resolver the caller supplies (the NB101 dump's ``parse``, or
  :func:`read_all_graphs` of Samsung's ``data/all_graphs.json``).
* ``logmeasures`` despite its name holds the raw values (``find_measures``: the per-layer sum, a
  Python float; ``jacob_cov`` a numpy float64, NaN when it failed), for grad_norm, snip, grasp,
  fisher, jacob_cov, plain, synflow. ``jacob_cov`` is zcbench's ``jacov``.

Every pickle is read through :mod:`zcbench.safe_pickle`: these are files from the internet, and one
that names anything beyond plain containers and numpy scalars is refused with one line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArchError, DumpError
from ..progress import bar
from ..safe_pickle import safe_load
from ..spaces import Space, get_space
from ..spaces import nb101 as _nb101
from .agreement import transform_for
from .base import ABSENT, ImportedRun, looks_like_pickle, read_accuracies

ORIGIN = "abdelfattah"
# record kind -> zcbench store space. Samsung scored NB201 on its own NAS201Model (every candidate op
# instantiated; synflow, params and l2_norm differ from the official TinyNetwork's), which zcbench builds
# as `--variant samsung` and stores as nb201[samsung]; its NB101 network is zcbench's default one.
STORE_SPACES = {"nb201": "nb201[samsung]", "nb101": "nb101"}
PROXY_NAMES = {"jacob_cov": "jacov"}  # Samsung's name -> zcbench's
FILE_DATASETS = {"cf10": "cifar10", "cf100": "cifar100", "im120": "ImageNet16-120"}  # nasbench2_pred.py pfn
_NB2_NAME = re.compile(r"nb2_(cf10|cf100|im120)_")
NB201_KEYS = frozenset({"i", "arch", "logmeasures"})
NB101_KEYS = frozenset({"hash", "logmeasures"})
# nasbench1_pred.py get_op_names: label -> op of data/all_graphs.json
ALL_GRAPHS_OPS = {-1: "input", -2: "output", 0: "conv3x3-bn-relu", 1: "conv1x1-bn-relu", 2: "maxpool3x3"}
_PROGRESS_BYTES = 8 << 20  # show a bar when reading more than this


def _files(p: Path) -> list[Path]:
    if not p.exists():
        raise DumpError(f"{p}: no such file or directory")
    if p.is_file():
        return [p]
    files = [f for f in sorted(p.iterdir()) if f.is_file() and not f.name.startswith(".")]
    if not files:
        raise DumpError(f"{p}: empty folder")
    for f in files:
        with open(f, "rb") as fh:
            if not looks_like_pickle(fh.read(2)):
                raise DumpError(f"{f}: not a pickle; the folder must hold only Abdelfattah et al.'s result pickles")
    return files


def _records(files: list[Path]) -> Iterator[tuple[Path, int, Any]]:
    """Every appended pickle of every file, in order, through the allow-listed unpickler."""
    total = sum(f.stat().st_size for f in files)
    with bar(total=total, desc="reading pickles", unit="B", unit_scale=True, quiet=total < _PROGRESS_BYTES) as b:
        for f in files:
            size = f.stat().st_size
            with open(f, "rb") as fh:
                n = 0
                while fh.tell() < size:
                    start = fh.tell()
                    yield f, n, safe_load(fh, f"{f}: record {n}")
                    b.update(fh.tell() - start)
                    n += 1


def _number(value: Any) -> float | None:
    """A Python/numpy real (a complex with zero imaginary part counts); None for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (complex, np.complexfloating)):
        return float(value.real) if value.imag == 0 else None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return None


def _kind(rec: Any, where: str) -> str:
    if not isinstance(rec, dict):
        raise DumpError(f"{where}: a {type(rec).__name__}, not an Abdelfattah et al. result record (a dict)")
    keys = set(rec)
    if "logmeasures" in keys and not isinstance(rec["logmeasures"], dict):
        what = "EcoNAS training curves (nb2_fast_train*.p)" if isinstance(rec["logmeasures"], list) else "not a dict"
        raise DumpError(f"{where}: 'logmeasures' is {what}, not per-architecture proxy scores")
    if NB201_KEYS <= keys:
        return "nb201"
    if NB101_KEYS <= keys:
        return "nb101"
    raise DumpError(
        f"{where}: keys {', '.join(sorted(map(str, keys)))[:80]}; expected nasbench2_pred.py's i, arch, "
        "logmeasures (NB201) or nasbench1_pred.py's hash, logmeasures (NB101)"
    )


def _dataset_from_name(files: list[Path]) -> str | None:
    found = {FILE_DATASETS[m.group(1)] for f in files if (m := _NB2_NAME.search(f.name))}
    return found.pop() if len(found) == 1 else None


def _digest(files: list[Path]) -> str:
    """SHA-256 of the file's bytes; for a folder, of all files' bytes in name order."""
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def read_all_graphs(path: str | Path) -> dict[str, str]:
    """Samsung's ``data/all_graphs.json`` (``{module_hash: [matrix, labels]}``, labels -1 input,
    -2 output, 0 conv3x3, 1 conv1x1, 2 maxpool, as ``nasbench1_pred.py`` reads it) → ``{hash:
    canonical NB101 spec string}``, a resolver for :func:`read_abdelfattah` without the NB101 dump."""
    p = Path(path)
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DumpError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DumpError(f"{p}: not a readable JSON file ({type(err).__name__})") from None
    if not isinstance(obj, dict) or not obj:
        raise DumpError(f"{p}: not all_graphs.json (expected an object {{hash: [matrix, labels]}})")
    out = {}
    for h, v in obj.items():
        try:
            if not (isinstance(v, list) and len(v) == 2 and isinstance(v[1], list)):
                raise ArchError("expected [matrix, labels]")
            ops = [ALL_GRAPHS_OPS[x] if x in ALL_GRAPHS_OPS else f"label {x}" for x in v[1]]
            out[str(h)] = _nb101.spec_string(*_nb101.validate_spec(v[0], ops))
        except ArchError as err:
            raise DumpError(f"{p}: graph {str(h)[:32]}: {err}") from None
    return out


def _dataset(kind: str, sp: Space, files: list[Path], p: Path, dataset: str | None, resolver: Any) -> str:
    """The dataset of the records: the NB201 file name's (or ``dataset``, which must agree); NB101's cifar10."""
    if kind == "nb101":
        if resolver is None:
            raise DumpError(
                f"{p}: NB101 results name each cell by its module hash only; resolving them needs the NB101 dump "
                "(or Samsung's data/all_graphs.json)"
            )
        return sp.check_dataset(dataset or "cifar10")
    from_name = _dataset_from_name(files)
    if dataset and from_name and dataset != from_name:
        raise DumpError(f"{p}: the file name says {from_name}, not {dataset}")
    ds = dataset or from_name
    if ds is None:
        raise DumpError(f"{p}: cannot tell the dataset (not in the nb2_{{cf10,cf100,im120}}_... name); give it")
    return sp.check_dataset(ds)


def _accuracy(rec: Mapping, key: str) -> Any:
    """A record's accuracy as a float where it is a real number; ABSENT or the raw value otherwise."""
    value = rec.get(key, ABSENT)
    number = None if value is ABSENT or value is None else _number(value)
    return value if number is None else number


class _Table:
    """The records of one file (or folder) as rows: one per architecture, the first record of each kept."""

    def __init__(self, kind: str, sp: Space, resolve: Callable[[str], str] | None) -> None:
        self.kind, self.sp, self.resolve = kind, sp, resolve
        self.archs: list[str] = []
        self.val: list[Any] = []
        self.test: list[Any] = []
        self.cells: dict[str, dict[int, float | None]] = {}
        self.seen: set[str] = set()
        self.dropped = 0

    def _identity(self, rec: Mapping, where: str) -> str:
        if self.kind == "nb101":
            return str(rec["hash"])
        try:
            return self.sp.parse(str(rec["arch"]))
        except ArchError as err:
            raise DumpError(f"{where}: {err}") from None

    def _arch(self, ident: str, where: str) -> str:
        if self.kind == "nb201":
            return ident
        try:
            return self.resolve(ident)
        except (KeyError, ArchError):
            raise DumpError(f"{where}: NB101 hash {ident[:32]} is not known to the resolver given") from None

    def take(self, f: Path, n: int, rec: Any) -> None:
        where = f"{f}: record {n}"
        if _kind(rec, where) != self.kind:
            raise DumpError(f"{where}: mixes NB101 and NB201 records")
        ident = self._identity(rec, where)
        if ident in self.seen:
            self.dropped += 1
            return
        self.seen.add(ident)
        row = len(self.archs)
        self.archs.append(self._arch(ident, where))
        self.val.append(_accuracy(rec, "valacc"))
        self.test.append(_accuracy(rec, "testacc"))
        for name, value in rec["logmeasures"].items():
            self.cells.setdefault(PROXY_NAMES.get(str(name), str(name)), {})[row] = _number(value)

    def notes(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The accuracies (NaN where unusable) and the notes about the whole table."""
        n, notes = len(self.archs), []
        if self.dropped:
            notes.append(
                f"{self.dropped} of {n + self.dropped} records dropped: same architecture as an earlier record "
                "(first kept)"
            )
        if self.kind == "nb101":
            notes.append("no accuracies in these files (Samsung's nasbench1_accuracy.p [hash][0] is not documented)")
        val, val_notes = read_accuracies(self.val, "valacc", usual=self.kind == "nb201")
        test, test_notes = read_accuracies(self.test, "testacc", usual=self.kind == "nb201")
        return val, test, notes + val_notes + test_notes


def _column(cells: Mapping[int, float | None], n: int, proxy: str) -> tuple[np.ndarray, list[str]]:
    """One proxy's scores (NaN where absent or not a number) and the notes about them."""
    scores = np.full(n, np.nan)
    non_numeric = 0
    for row, value in cells.items():
        if value is None:
            non_numeric += 1
        else:
            scores[row] = value
    notes = []
    if proxy in PROXY_NAMES.values():
        notes.append(f"published as {next(k for k, v in PROXY_NAMES.items() if v == proxy)}")
    if len(cells) < n:
        notes.append(f"absent for {n - len(cells)} of {n} architectures")
    if non_numeric:
        notes.append(f"{non_numeric} non-numeric scores read as NaN")
    return scores, notes


def _runs(table: _Table, ds: str, p: Path, files: list[Path]) -> list[ImportedRun]:
    if len(table.archs) != len(set(table.archs)):  # two hashes resolved to one string: the resolver is inconsistent
        raise DumpError(f"{p}: two NB101 hashes resolved to the same architecture; check the resolver")
    n = len(table.archs)
    val, test, table_notes = table.notes()
    source, digest = p.name + ("/" if p.is_dir() else ""), _digest(files)
    runs = []
    for proxy in sorted(table.cells):
        scores, notes = _column(table.cells[proxy], n, proxy)
        runs.append(
            ImportedRun(
                space=STORE_SPACES[table.kind],
                dataset=ds,
                proxy=proxy,
                origin=ORIGIN,
                archs=list(table.archs),
                scores=scores,
                seconds=np.full(n, np.nan),
                val_accuracy=val,
                test_accuracy=test,
                source=source,
                sha256=digest,
                transform=transform_for(ORIGIN, proxy),
                notes=notes,
                table_notes=table_notes,
            )  # fmt: skip
        )
    if not runs:
        raise DumpError(f"{p}: records hold no proxy scores ('logmeasures' is empty)")
    return runs


def read_abdelfattah(
    path: str | Path,
    space: str | None = None,
    dataset: str | None = None,
    *,
    hash_to_arch: Mapping[str, str] | Callable[[str], str] | None = None,
    spaces: Mapping[str, Space] | None = None,
) -> list[ImportedRun]:
    """Every proxy column of one of Abdelfattah et al.'s result pickles (or a folder of NB101 ones).

    The space comes from the records (NB201 records have ``arch``, NB101 ones ``hash``); NB201 runs
    are stored as ``nb201[samsung]``, the network Samsung scored (zcbench's ``--variant samsung``). The NB201
    dataset from the file name (``nb2_cf100_...`` → cifar100) or ``dataset``. An argument that
    contradicts the file is refused. NB101 needs ``hash_to_arch`` (a mapping or a function from module
    hash to canonical NB101 string, e.g. the ``parse`` of an NB101 space with its dump loaded).
    Repeated architectures (a restarted run appends again; NB101 files overlap) are kept once, first
    record first, and counted in ``notes``; accuracies that are absent, not numbers or outside 0-100 are
    NaN with a note. Raises DumpError with one line."""
    p = Path(path)
    files = _files(p)
    records = _records(files)
    try:
        f0, _, first = next(records)
    except StopIteration:
        raise DumpError(f"{p}: empty file") from None
    kind = _kind(first, f"{f0}: record 0")
    if space is not None and space not in (kind, STORE_SPACES[kind]):
        raise DumpError(f"{p}: these are {kind} results, not {space}")
    sp = (spaces or {}).get(kind) or get_space(kind)
    ds = _dataset(kind, sp, files, p, dataset, hash_to_arch)
    resolve = hash_to_arch.__getitem__ if isinstance(hash_to_arch, Mapping) else hash_to_arch
    table = _Table(kind, sp, resolve)
    table.take(f0, 0, first)
    for f, n, rec in records:
        table.take(f, n, rec)
    return _runs(table, ds, p, files)
