"""NAS-Bench-Suite-Zero's published scores (NASLib ``zc_<benchmark>.json``) as :class:`ImportedRun`.

Layout, as NASLib writes and reads it (``naslib/runners/zc/benchmarks/runner.py`` writes one record
per architecture, ``naslib/utils/get_dataset_api.py:get_zc_benchmark_api`` returns ``data[dataset]``,
``naslib/evaluators/zc_evaluator.py`` reads ``zc_api[str(arch.get_hash())][proxy]['score']`` and
``['val_accuracy']``)::

    {dataset: {str(arch_hash): {"val_accuracy": float, "<proxy>": {"score": float, "time": float}, ...}}}

The early files committed on NASLib's ``benchmarks`` branch (May 2022) wrap this in one more level,
``{"nasbench201": {dataset: ...}}``, and store each proxy as a plain number with no time; both are read.
Per-architecture fields other than proxies (``idx``, ``arch`` in the runner's records) are skipped;
``test_accuracy`` is read where present (NASLib's files have none).

``arch_hash`` is NASLib's ``get_hash()`` of the benchmark; the ``naslib_key_to_arch`` function at
the end of each space module converts it, and ``Space.parse`` canonicalises the result.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArchError, DumpError, UsageError
from ..progress import bar
from ..spaces import Space, get_space
from ..spaces import nb101 as _nb101
from .agreement import transform_for
from .base import ABSENT, ImportedRun, read_accuracies

ORIGIN = "naslib"
# NASLib search-space name (file names zc_<name>.json, early-layout wrapper key) -> zcbench store space.
# NB301: NASLib scored its own smaller DARTS net, zcbench's `--variant naslib`.
NASLIB_SPACES: dict[str, str] = {
    "nasbench101": "nb101",
    "nasbench201": "nb201",
    "nasbench301": "nb301[naslib]",
    "transbench101_micro": "tnb101_micro",
    "transbench101_macro": "tnb101_macro",
}
STORE_SPACES = tuple(NASLIB_SPACES.values())
NON_PROXY_FIELDS = frozenset({"val_accuracy", "test_accuracy", "idx", "arch", "id"})
FAILED_SCORE = -1e8  # NASLib's predictive.py replaces a non-finite score by this
_NAME_RE = re.compile(r"zc_(" + "|".join(sorted(NASLIB_SPACES, key=len, reverse=True)) + r")(?![a-z0-9_])")
_GUESS_SAMPLE = 200  # keys per dataset tried when the benchmark is guessed from the key shapes
_PROGRESS_ARCHS = 20_000  # show a bar when converting more keys than this (the NB201 file has 46,875: ~2 s)


def base_space(store_space: str) -> str:
    """The registered space of a store space string: ``nb301[naslib]`` → ``nb301``."""
    return store_space.split("[", 1)[0]


def key_converter(store_space: str) -> Callable[[str], str]:
    """NASLib key → zcbench architecture string for one benchmark (the space's ``from_naslib`` hook)."""
    return get_space(base_space(store_space)).from_naslib


def resolve_space(space: str) -> str:
    """The store space for a ``space`` argument: a store name (``nb301[naslib]``), a registered one
    (``nb301`` means NASLib's variant here) or a NASLib name (``nasbench301``). Raises UsageError."""
    s = space.strip()
    if s in STORE_SPACES:
        return s
    if s in NASLIB_SPACES:
        return NASLIB_SPACES[s]
    by_base = {base_space(v): v for v in STORE_SPACES}
    if s in by_base:
        return by_base[s]
    raise UsageError(
        f"NAS-Bench-Suite-Zero has no space {space!r} (choose from {', '.join(sorted(by_base))}, "
        f"or NASLib's names {', '.join(NASLIB_SPACES)})"
    )


def space_from_name(path: Path) -> str | None:
    """The store space a published file name says (``zc_nasbench201.json`` → ``nb201``), or None."""
    m = _NAME_RE.search(path.name.lower())
    return NASLIB_SPACES[m.group(1)] if m else None


def _load(path: Path) -> tuple[Any, str]:
    if not path.exists():
        raise DumpError(f"{path}: no such file")
    if path.is_dir():
        raise DumpError(f"{path}: is a folder; give one zc_<benchmark>.json file")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DumpError(f"{path}: cannot read ({err.strerror or err})") from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        obj = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DumpError(f"{path}: not a text file (a NAS-Bench-Suite-Zero JSON expected)") from None
    except json.JSONDecodeError as err:
        raise DumpError(f"{path}: truncated or invalid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise DumpError(f"{path}: JSON nested too deeply") from None
    return obj, digest


def _sections(obj: Any, path: Path) -> tuple[dict[str, dict], str | None]:
    """``{dataset: {key: entry}}`` and the space named by an early-layout wrapper key (if any)."""
    what = "not a NAS-Bench-Suite-Zero file"
    if not isinstance(obj, dict) or not obj:
        raise DumpError(f"{path}: {what} (top level is {type(obj).__name__}, expected an object of datasets)")
    wrapped = None
    if all(k in NASLIB_SPACES for k in obj):
        if len(obj) > 1:
            raise DumpError(f"{path}: holds several benchmarks ({', '.join(obj)}); expected one")
        ((name, obj),) = obj.items()
        wrapped = NASLIB_SPACES[name]
        if not isinstance(obj, dict) or not obj:
            raise DumpError(f"{path}: {what} ({name!r} is not an object of datasets)")
    for dataset, section in obj.items():
        if not isinstance(section, dict) or not section:
            raise DumpError(f"{path}: {what} (the value of {str(dataset)[:40]!r} is not an object of architectures)")
        first = next(iter(section.values()))
        if not isinstance(first, dict):
            raise DumpError(
                f"{path}: {what} (architecture entries of {str(dataset)[:40]!r} are {type(first).__name__}, "
                "expected objects with 'val_accuracy' and proxy scores)"
            )
    return obj, wrapped


def guess_space(sections: Mapping[str, Mapping], path: Path) -> str:
    """The benchmark whose datasets and NASLib keys fit ``sections`` (tried on up to 200 keys per
    dataset); DumpError when none or several fit."""
    fits = []
    for store_space in STORE_SPACES:
        known = set(get_space(base_space(store_space)).datasets)
        usable = [ds for ds in sections if ds in known]
        if not usable:
            continue
        convert = key_converter(store_space)
        try:
            for ds in usable:
                for key in list(sections[ds])[:_GUESS_SAMPLE]:
                    convert(key)
        except ArchError:
            continue
        fits.append(store_space)
    if len(fits) == 1:
        return fits[0]
    names = ", ".join(f"zc_{k}.json" for k in NASLIB_SPACES)
    if not fits:
        raise DumpError(f"{path}: datasets and architecture keys match no NAS-Bench-Suite-Zero benchmark ({names})")
    raise DumpError(
        f"{path}: cannot tell {' from '.join(base_space(f) for f in fits)} by the keys alone; "
        "name the file as published (zc_<benchmark>.json) or give the space"
    )


def _number(value: Any) -> float | None:
    """A JSON number as float; None for anything else (null, strings, lists, booleans)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _dedupe_key(store_space: str) -> Callable[[str], str]:
    """NB101 isomorphs are one graph with one module hash; elsewhere the canonical string is the graph."""
    if base_space(store_space) == "nb101":
        return lambda arch: _nb101.module_hash(*_nb101.spec_from_string(arch))
    return lambda arch: arch


def read_suite_zero(
    path: str | Path, space: str | None = None, *, spaces: Mapping[str, Space] | None = None
) -> list[ImportedRun]:
    """Every (dataset, proxy) column of a NAS-Bench-Suite-Zero JSON, converted to zcbench's vocabulary.

    The benchmark comes from ``space`` (``nb201``, ``nasbench201``, ...), else from the file name
    (``zc_nasbench201.json``), else from an early-layout wrapper key, else from the key shapes; if
    two of these disagree the file is refused. ``spaces`` may hold already-loaded Space objects by
    registered name (e.g. ``{"nb101": space_with_its_dump}``) so that ``parse`` maps each graph to
    the dump's stored spelling; by default a fresh ``get_space(name)`` canonicalises. Architectures
    that canonicalise to one graph (NB101 isomorphs and padded specs) are kept once, first occurrence
    first, and counted in ``notes``. Raises DumpError (one line) for an unreadable, foreign or
    inconsistent file and UsageError for an unknown ``space``."""
    p = Path(path)
    wanted = resolve_space(space) if space else None
    obj, digest = _load(p)
    sections, wrapped = _sections(obj, p)
    named = space_from_name(p)
    said = {k: v for k, v in (("the space given", wanted), ("the file name", named), ("the file", wrapped)) if v}
    if len(set(said.values())) > 1:
        raise DumpError(f"{p}: " + " but ".join(f"{k} says {base_space(v)}" for k, v in said.items()))
    store_space = next(iter(said.values()), None) or guess_space(sections, p)
    base = base_space(store_space)
    sp = (spaces or {}).get(base) or get_space(base)
    convert, dedupe = key_converter(store_space), _dedupe_key(store_space)
    layout_note = ["early NASLib layout ({benchmark: {dataset: ...}})"] if wrapped else []

    runs: list[ImportedRun] = []
    skipped = [ds for ds in sections if ds not in sp.datasets]
    if len(skipped) == len(sections):
        raise DumpError(
            f"{p}: none of its datasets ({', '.join(map(str, sections))}) is a {base} dataset "
            f"({', '.join(sp.datasets)})"
        )
    skip_note = [f"datasets not in zcbench's {base} left out: {', '.join(skipped)}"] if skipped else []
    cache: dict[str, str] = {}  # key -> canonical arch; the datasets of a file share their keys

    def canonical(key: str) -> str:
        if key not in cache:
            cache[key] = sp.parse(convert(key))
        return cache[key]

    total = sum(len(sec) for ds, sec in sections.items() if ds not in skipped)
    with bar(total=total, desc=f"reading {p.name}", unit="arch", quiet=total < _PROGRESS_ARCHS) as b:
        for dataset, section in sections.items():
            if dataset in skipped:
                continue
            runs += _read_section(p, digest, store_space, dataset, section, canonical, dedupe, layout_note + skip_note)
            b.update(len(section))
    return runs


@dataclass
class _Table:
    """One dataset's architectures as the file has them, before they become runs."""

    archs: list[str] = field(default_factory=list)
    val: list[Any] = field(default_factory=list)  # as published (ABSENT where the record has no such field)
    test: list[Any] = field(default_factory=list)
    cells: dict[str, dict[int, tuple[float | None, float | None]]] = field(default_factory=dict)  # proxy -> row
    dropped: int = 0  # keys that are the same architecture as an earlier key
    ignored: set[str] = field(default_factory=set)  # fields that are neither accuracies nor scores

    def add(self, arch: str, entry: Mapping[str, Any]) -> None:
        row = len(self.archs)
        self.archs.append(arch)
        self.val.append(entry.get("val_accuracy", ABSENT))
        self.test.append(entry.get("test_accuracy", ABSENT))
        for name, item in entry.items():
            if name in NON_PROXY_FIELDS:
                continue
            if isinstance(item, dict) and "score" in item:
                self.cells.setdefault(name, {})[row] = (_number(item["score"]), _number(item.get("time")))
            elif item is None or _number(item) is not None:
                self.cells.setdefault(name, {})[row] = (_number(item), None)
            else:
                self.ignored.add(str(name))


def _read_entries(
    p: Path, dataset: str, section: Mapping[str, Any], canonical: Callable[[str], str], dedupe: Callable[[str], str]
) -> _Table:
    """The section's records, keys converted to canonical architectures, repeated graphs kept once."""
    table, seen = _Table(), set()
    for i, (key, entry) in enumerate(section.items()):
        where = f"{p}: {dataset} architecture {i} ({str(key)[:40]})"
        if not isinstance(entry, dict):
            raise DumpError(f"{where}: entry is {type(entry).__name__}, not an object")
        try:
            arch = canonical(key)
        except ArchError as err:
            raise DumpError(f"{where}: {err}") from None
        ident = dedupe(arch)
        if ident in seen:
            table.dropped += 1
            continue
        seen.add(ident)
        table.add(arch, entry)
    return table


def _table_notes(table: _Table, store_space: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The table's accuracies (NaN where unusable) and what the user should know about the whole table."""
    n, notes = len(table.archs), []
    if table.dropped:
        what = "graph (NB101 isomorph or padded spec)" if base_space(store_space) == "nb101" else "architecture"
        notes.append(f"{table.dropped} of {n + table.dropped} keys dropped: same {what} as an earlier key (first kept)")
    if table.ignored:
        notes.append(f"fields that are not proxy scores ignored: {', '.join(sorted(table.ignored))}")
    val, val_notes = read_accuracies(table.val, "val_accuracy")
    test, test_notes = read_accuracies(table.test, "test_accuracy", usual=False)  # NASLib's files have none
    return val, test, notes + val_notes + test_notes


def _proxy_column(cells: Mapping[int, tuple[float | None, float | None]], n: int) -> tuple[np.ndarray, ...]:
    """One proxy's scores and seconds (NaN where absent) and the notes about its values."""
    scores, seconds = np.full(n, np.nan), np.full(n, np.nan)
    non_numeric = 0
    for row, (score, secs) in cells.items():
        if score is None:
            non_numeric += 1
        else:
            scores[row] = score
        if secs is not None:
            seconds[row] = secs
    notes = []
    if len(cells) < n:
        notes.append(f"absent for {n - len(cells)} of {n} architectures")
    if non_numeric:
        notes.append(f"{non_numeric} non-numeric scores read as NaN")
    nonfinite = int(np.sum(~np.isfinite(scores))) - (n - len(cells)) - non_numeric
    if nonfinite:
        notes.append(f"{nonfinite} published scores are not finite (kept as published)")
    failed = int(np.sum(scores == FAILED_SCORE))
    if failed:
        notes.append(f"{failed} scores equal NASLib's failed-score value -1e8")
    return scores, seconds, notes


def _read_section(
    p: Path,
    digest: str,
    store_space: str,
    dataset: str,
    section: Mapping[str, Any],
    canonical: Callable[[str], str],
    dedupe: Callable[[str], str],
    file_notes: list[str],
) -> list[ImportedRun]:
    table = _read_entries(p, dataset, section, canonical, dedupe)
    val, test, table_notes = _table_notes(table, store_space)
    runs = []
    for proxy in sorted(table.cells):
        scores, seconds, notes = _proxy_column(table.cells[proxy], len(table.archs))
        runs.append(
            ImportedRun(
                space=store_space,
                dataset=dataset,
                proxy=proxy,
                origin=ORIGIN,
                archs=list(table.archs),
                scores=scores,
                seconds=seconds,
                val_accuracy=val,
                test_accuracy=test,
                source=p.name,
                sha256=digest,
                transform=transform_for(ORIGIN, proxy),
                notes=notes,
                file_notes=file_notes,
                table_notes=table_notes,
            )  # fmt: skip
        )
    if not runs:
        raise DumpError(f"{p}: {dataset} has architectures but no proxy scores")
    return runs
