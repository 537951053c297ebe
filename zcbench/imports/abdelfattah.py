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
import math
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
from .base import ImportedRun, looks_like_pickle

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
    record first, and counted in ``notes``. Raises DumpError with one line."""
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
    if kind == "nb201":
        from_name = _dataset_from_name(files)
        if dataset and from_name and dataset != from_name:
            raise DumpError(f"{p}: the file name says {from_name}, not {dataset}")
        ds = dataset or from_name
        if ds is None:
            raise DumpError(f"{p}: cannot tell the dataset (not in the nb2_{{cf10,cf100,im120}}_... name); give it")
        sp.check_dataset(ds)
    else:
        ds = sp.check_dataset(dataset or "cifar10")
        if hash_to_arch is None:
            raise DumpError(
                f"{p}: NB101 results name each cell by its module hash only; resolving them needs the NB101 dump "
                "(or Samsung's data/all_graphs.json)"
            )
    resolve = hash_to_arch.__getitem__ if isinstance(hash_to_arch, Mapping) else hash_to_arch

    archs: list[str] = []
    val: list[float] = []
    test: list[float] = []
    cells: dict[str, dict[int, float | None]] = {}
    seen: set[str] = set()
    dropped = 0

    def take(f: Path, n: int, rec: Any) -> None:
        nonlocal dropped
        where = f"{f}: record {n}"
        if _kind(rec, where) != kind:
            raise DumpError(f"{where}: mixes NB101 and NB201 records")
        if kind == "nb201":
            try:
                arch = ident = sp.parse(str(rec["arch"]))
            except ArchError as err:
                raise DumpError(f"{where}: {err}") from None
        else:
            ident = str(rec["hash"])
        if ident in seen:
            dropped += 1
            return
        seen.add(ident)
        if kind == "nb101":
            try:
                arch = resolve(ident)
            except (KeyError, ArchError):
                raise DumpError(f"{where}: NB101 hash {ident[:32]} is not known to the resolver given") from None
        row = len(archs)
        archs.append(arch)
        v, t = _number(rec.get("valacc")), _number(rec.get("testacc"))
        val.append(math.nan if v is None else v)
        test.append(math.nan if t is None else t)
        for name, value in rec["logmeasures"].items():
            cells.setdefault(PROXY_NAMES.get(str(name), str(name)), {})[row] = _number(value)

    take(f0, 0, first)
    for f, n, rec in records:
        take(f, n, rec)

    n = len(archs)
    notes = []
    if dropped:
        notes.append(f"{dropped} of {n + dropped} records dropped: same architecture as an earlier record (first kept)")
    if kind == "nb101":
        notes.append("no accuracies in these files (Samsung's nasbench1_accuracy.p [hash][0] is not documented)")
    if len(archs) != len(set(archs)):  # two hashes resolved to one string: the resolver is inconsistent
        raise DumpError(f"{p}: two NB101 hashes resolved to the same architecture; check the resolver")
    source = p.name + ("/" if p.is_dir() else "")
    digest = _digest(files)
    runs = []
    for proxy in sorted(cells):
        scores = np.full(n, np.nan)
        non_numeric = 0
        for row, value in cells[proxy].items():
            if value is None:
                non_numeric += 1
            else:
                scores[row] = value
        run_notes = list(notes)
        if proxy in PROXY_NAMES.values():
            run_notes.append(f"published as {next(k for k, v in PROXY_NAMES.items() if v == proxy)}")
        if len(cells[proxy]) < n:
            run_notes.append(f"absent for {n - len(cells[proxy])} of {n} architectures")
        if non_numeric:
            run_notes.append(f"{non_numeric} non-numeric scores read as NaN")
        runs.append(
            ImportedRun(
                space=STORE_SPACES[kind],
                dataset=ds,
                proxy=proxy,
                origin=ORIGIN,
                archs=list(archs),
                scores=scores,
                seconds=np.full(n, np.nan),
                val_accuracy=np.asarray(val, dtype=np.float64),
                test_accuracy=np.asarray(test, dtype=np.float64),
                source=source,
                sha256=digest,
                transform=transform_for(ORIGIN, proxy),
                notes=run_notes,
            )
        )
    if not runs:
        raise DumpError(f"{p}: records hold no proxy scores ('logmeasures' is empty)")
    return runs
