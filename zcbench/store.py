"""The HDF5 results cache: many runs in one file, crash-safe, readable with h5py or pandas alone.

Layout (documented once, here and in README "Results file"):

    /                                   attrs: format="zcbench", format_version=1
    /runs/<space>/<dataset>/<proxy>/<setting>     one group per run (a *run* = space, dataset,
        attrs: space, dataset, proxy, seed, batch_size, dataload, dataload_info, data_source,
               options (JSON), dump, device, zcbench, torch, h5py, created, updated
        index          int64    official index (-1 where the space has none)
        arch           str      canonical architecture string
        score          float64  raw proxy value (NaN = failed, see error)
        seconds        float64  wall time of the proxy on this architecture
        val_accuracy   float64  from the dump (NaN without one), in %
        test_accuracy  float64
        error          str      why the score is NaN ('' when it is a value)

``<setting>`` is ``s<seed>`` for data-free proxies and ``s<seed>-b<batch>-<dataload><info>-<source>``
otherwise (plus ``-o<hash>`` when proxy options are set), so a data-free score is reused whatever
the batch. Crash safety: finished rows first go to an append-only journal ``<file>.journal``
(one JSON line per row, flushed and fsync'ed); the HDF5 file itself is only ever replaced
atomically (written to a temporary copy, then renamed), so a kill at any moment leaves the last
complete HDF5 file plus a journal that the next open replays. Only one process writes
(a lock on the journal); readers merge file and journal.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import StoreError

FORMAT = "zcbench"
FORMAT_VERSION = 1
COLUMNS = ("index", "arch", "score", "seconds", "val_accuracy", "test_accuracy", "error")


@dataclass(frozen=True)
class RunKey:
    """What a score depends on besides the architecture."""

    space: str
    dataset: str
    proxy: str
    seed: int = 0
    batch_size: int = 64
    dataload: str = "random"
    dataload_info: int = 1
    data_source: str = "synthetic"  # 'synthetic' or 'images'
    data_free: bool = False
    options: str = ""  # canonical JSON of proxy options ('' when none)

    @property
    def setting(self) -> str:
        if self.data_free:
            s = f"s{self.seed}"
        else:
            s = f"s{self.seed}-b{self.batch_size}-{self.dataload}{self.dataload_info}-{self.data_source}"
        if self.options:
            s += "-o" + hashlib.sha1(self.options.encode()).hexdigest()[:8]
        return s

    @property
    def path(self) -> str:
        return f"runs/{self.space}/{self.dataset}/{self.proxy}/{self.setting}"


@dataclass
class Row:
    index: int
    arch: str
    score: float
    seconds: float
    val_accuracy: float = float("nan")
    test_accuracy: float = float("nan")
    error: str = ""


@dataclass
class RunInfo:
    """Metadata written as attributes of a run group."""

    dump: str = ""
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)


def _h5py():
    import h5py

    return h5py


def _versions() -> dict[str, str]:
    import torch

    return {"zcbench": __version__, "torch": str(torch.__version__), "h5py": str(_h5py().__version__)}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def check_results_file(path: Path) -> None:
    """Raise StoreError unless ``path`` is absent or a readable zcbench HDF5 file."""
    if not path.exists():
        return
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise StoreError(f"{path}: not a zcbench results file (refusing to touch it)")
    except StoreError:
        raise
    except (OSError, ValueError) as err:
        raise StoreError(f"{path}: unreadable HDF5 file ({str(err).splitlines()[0]})") from None


def _read_run(group) -> dict[str, np.ndarray]:
    out = {}
    for c in COLUMNS:
        ds = group[c]
        out[c] = ds.asstr()[()] if c in ("arch", "error") else ds[()]
    return out


def _write_rows(f, key: RunKey, info: RunInfo, rows: list[Row]) -> None:
    h5py = _h5py()
    str_dt = h5py.string_dtype()
    g = f.require_group(key.path)
    if "arch" not in g:
        meta = asdict(key)
        meta.pop("data_free")
        for k, v in meta.items():
            g.attrs[k] = v
        g.attrs["data_free"] = key.data_free
        g.attrs["dump"] = info.dump
        g.attrs["device"] = info.device
        for k, v in _versions().items():
            g.attrs[k] = v
        g.attrs["created"] = _now()
        for k, v in info.extra.items():
            g.attrs[k] = v if isinstance(v, (int, float, str, bool)) else json.dumps(v)
        for c in COLUMNS:
            dt = str_dt if c in ("arch", "error") else (np.int64 if c == "index" else np.float64)
            g.create_dataset(c, shape=(0,), maxshape=(None,), dtype=dt, chunks=(1024,))
    n0 = g["arch"].shape[0]
    n = n0 + len(rows)
    for c in COLUMNS:
        ds = g[c]
        ds.resize((n,))
        vals = [getattr(r, c) for r in rows]
        ds[n0:n] = np.asarray(vals, dtype=object) if c in ("arch", "error") else np.asarray(vals)
    g.attrs["updated"] = _now()
    g.attrs["device"] = info.device


def _row_to_json(key: RunKey, info: RunInfo, row: Row) -> str:
    return json.dumps({"key": asdict(key), "info": asdict(info), "row": asdict(row)}, allow_nan=True)


def _read_journal(path: Path) -> list[tuple[RunKey, RunInfo, Row]]:
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # torn last line of a killed writer
            try:
                d = json.loads(line)
                out.append((RunKey(**d["key"]), RunInfo(**d["info"]), Row(**d["row"])))
            except (ValueError, TypeError, KeyError):
                continue
    return out


def _same_row(a: Row, b: Row) -> bool:
    """Bit-equal rows (NaN equals NaN): a journal line that is already in the HDF5 file."""

    def eq(x: float, y: float) -> bool:
        return (x != x and y != y) or x == y

    return a.arch == b.arch and a.error == b.error and eq(a.score, b.score) and eq(a.seconds, b.seconds)


def _rows_by_arch(cols: dict[str, list]) -> dict[str, list[Row]]:
    """Column lists (as read from the file) → {arch: [Row, ...]}."""
    out: dict[str, list[Row]] = {}
    for j in range(len(cols["arch"])):
        r = Row(*(cols[c][j].item() if hasattr(cols[c][j], "item") else cols[c][j] for c in COLUMNS))
        out.setdefault(r.arch, []).append(r)
    return out


def _drop_committed(path: Path, items: list[tuple[RunKey, RunInfo, Row]]) -> list[tuple[RunKey, RunInfo, Row]]:
    """Journal rows minus those the HDF5 file already holds: a writer killed between the atomic
    replace and the journal truncation leaves both, and replaying must not duplicate rows."""
    if not items or not path.exists():
        return items
    by_path: dict[str, dict[str, list[Row]]] = {}
    with _h5py().File(path, "r") as f:
        for key in {k.path: k for k, _, _ in items}.values():
            if key.path not in f:
                continue
            by_path[key.path] = _rows_by_arch(_read_run(f[key.path]))
    return [
        (k, i, r) for k, i, r in items if not any(_same_row(r, old) for old in by_path.get(k.path, {}).get(r.arch, ()))
    ]


class ResultStore:
    """The single writer of a results file. Use as a context manager."""

    def __init__(self, path: str | Path, commit_every: float = 30.0) -> None:
        self.path = Path(path)
        self.journal = Path(str(self.path) + ".journal")
        self.commit_every = commit_every
        self._pending: list[tuple[RunKey, RunInfo, Row]] = []
        self._jfh = None
        self._last_commit = time.monotonic()
        check_results_file(self.path)
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._jfh = open(self.journal, "a+", encoding="utf-8")
        except OSError as err:
            raise StoreError(f"{self.path}: cannot write results here ({err.strerror})") from None
        try:
            fcntl.flock(self._jfh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._jfh.close()
            raise StoreError(f"{self.path}: another zcbench process is writing this file") from None
        self._pending = _drop_committed(self.path, _read_journal(self.journal))
        # Commit also when the journal holds only a torn line, so the next append starts clean.
        if self._pending or not self.path.exists() or self.journal.stat().st_size > 0:
            self.commit()

    # -- writing -------------------------------------------------------------------------------
    def append(self, key: RunKey, info: RunInfo, rows: Iterable[Row]) -> None:
        """Make ``rows`` durable now (journal) and part of the HDF5 file at the next commit."""
        rows = list(rows)
        if not rows:
            return
        self._jfh.write("".join(_row_to_json(key, info, r) + "\n" for r in rows))
        self._jfh.flush()
        os.fsync(self._jfh.fileno())
        self._pending.extend((key, info, r) for r in rows)
        if time.monotonic() - self._last_commit >= self.commit_every:
            self.commit()

    def append_many(self, items: Iterable[tuple[RunKey, RunInfo, Row]]) -> None:
        """Like :meth:`append` for rows of several runs at once: one write, one fsync (the engine's
        batched writes)."""
        items = list(items)
        if not items:
            return
        self._jfh.write("".join(_row_to_json(k, i, r) + "\n" for k, i, r in items))
        self._jfh.flush()
        os.fsync(self._jfh.fileno())
        self._pending.extend(items)
        if time.monotonic() - self._last_commit >= self.commit_every:
            self.commit()

    def commit(self) -> None:
        """Fold the journal into the HDF5 file by atomic replacement, then empty the journal."""
        h5py = _h5py()
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            if self.path.exists():
                shutil.copyfile(self.path, tmp)
            with h5py.File(tmp, "a") as f:
                f.attrs["format"] = FORMAT
                f.attrs["format_version"] = FORMAT_VERSION
                groups: dict[str, list] = {}
                for key, info, row in self._pending:
                    groups.setdefault(key.path, [key, info, []])[2].append(row)
                for key, info, rows in groups.values():
                    _write_rows(f, key, info, rows)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as err:
            raise StoreError(f"{self.path}: cannot write results ({err})") from None
        self._pending = []
        self._jfh.seek(0)
        self._jfh.truncate()
        self._jfh.flush()
        os.fsync(self._jfh.fileno())
        self._last_commit = time.monotonic()

    def close(self) -> None:
        if self._jfh is not None:
            if self._pending:
                self.commit()
            fcntl.flock(self._jfh, fcntl.LOCK_UN)
            self._jfh.close()
            self._jfh = None
            try:
                if self.journal.stat().st_size == 0:
                    self.journal.unlink()
            except OSError:
                pass

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------
    def done(self, key: RunKey) -> set[str]:
        """Architectures of run ``key`` already recorded (scored or failed)."""
        return {a for a in read_run(self.path, key)["arch"]} | {
            r.arch for k, _, r in self._pending if k.path == key.path
        }


def read_run(path: str | Path, key: RunKey) -> dict[str, np.ndarray]:
    """Columns of one run (file plus journal); empty columns when the run does not exist."""
    path = Path(path)
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    if path.exists():
        check_results_file(path)
        with _h5py().File(path, "r") as f:
            if key.path in f:
                for c, v in _read_run(f[key.path]).items():
                    cols[c].extend(v.tolist())
    seen = _rows_by_arch(cols)
    for k, _, row in _read_journal(Path(str(path) + ".journal")):
        if k.path == key.path and not any(_same_row(row, old) for old in seen.get(row.arch, ())):
            for c in COLUMNS:
                cols[c].append(getattr(row, c))
    return {c: np.asarray(v) for c, v in cols.items()}


def iter_runs(path: str | Path) -> list[tuple[dict[str, Any], dict[str, np.ndarray]]]:
    """Every run of a results file (plus its journal) as (attributes, columns)."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such results file")
    check_results_file(path)
    runs: dict[str, tuple[dict, dict[str, list]]] = {}
    with _h5py().File(path, "r") as f:

        def visit(name, obj):
            if isinstance(obj, _h5py().Group) and "arch" in obj:
                attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in obj.attrs.items()}
                runs[name] = (attrs, {c: list(v) for c, v in _read_run(obj).items()})

        f.visititems(visit)
    seen = {p: _rows_by_arch(cols) for p, (_, cols) in runs.items()}
    for key, info, row in _read_journal(Path(str(path) + ".journal")):
        if any(_same_row(row, old) for old in seen.get(key.path, {}).get(row.arch, ())):
            continue  # already folded into the file (a writer killed before emptying its journal)
        if key.path not in runs:
            attrs = asdict(key) | {"dump": info.dump, "device": info.device}
            runs[key.path] = (attrs, {c: [] for c in COLUMNS})
        for c in COLUMNS:
            runs[key.path][1][c].append(getattr(row, c))
    return [(a, {c: np.asarray(v) for c, v in cols.items()}) for a, cols in runs.values()]


def load_frame(path: str | Path, seed: int | None = None, batch_size: int | None = None):
    """One row per (space, dataset, arch): ``space, dataset, index, arch, <proxy>..., val_accuracy,
    test_accuracy``. Where a proxy has several runs (settings), ``seed``/``batch_size`` select;
    otherwise the most recently updated run wins."""
    import pandas as pd

    chosen: dict[tuple[str, str, str], tuple[dict, dict]] = {}
    for attrs, cols in iter_runs(path):
        if seed is not None and int(attrs.get("seed", -1)) != seed:
            continue
        if batch_size is not None and not attrs.get("data_free") and int(attrs.get("batch_size", -1)) != batch_size:
            continue
        k = (attrs["space"], attrs["dataset"], attrs["proxy"])
        if k not in chosen or str(attrs.get("updated", "")) >= str(chosen[k][0].get("updated", "")):
            chosen[k] = (attrs, cols)
    frames = []
    for (space, dataset, proxy), (_, cols) in chosen.items():
        df = pd.DataFrame(
            {
                "space": space,
                "dataset": dataset,
                "index": cols["index"].astype(np.int64),
                "arch": cols["arch"].astype(str),
                proxy: cols["score"].astype(float),
                "val_accuracy": cols["val_accuracy"].astype(float),
                "test_accuracy": cols["test_accuracy"].astype(float),
            }
        ).drop_duplicates("arch", keep="last")
        frames.append(df)
    base_cols = ["space", "dataset", "index", "arch"]
    if not frames:
        return pd.DataFrame(columns=base_cols + ["val_accuracy", "test_accuracy"])
    merged: dict[tuple[str, str], Any] = {}
    for df in frames:
        k = (df["space"].iat[0], df["dataset"].iat[0]) if len(df) else None
        if k is None:
            continue
        if k not in merged:
            merged[k] = df
        else:
            cur = merged[k]
            acc = cur[["arch", "val_accuracy", "test_accuracy"]]
            new_acc = df[["arch", "val_accuracy", "test_accuracy"]]
            proxy = [c for c in df.columns if c not in base_cols + ["val_accuracy", "test_accuracy"]][0]
            cur = cur.drop(columns=["val_accuracy", "test_accuracy"]).merge(
                df[base_cols + [proxy]], on=base_cols, how="outer"
            )
            accs = (
                pd.concat([acc, new_acc])
                .groupby("arch", sort=False)
                .agg(lambda s: s.dropna().iloc[0] if s.notna().any() else np.nan)
            )
            merged[k] = cur.merge(accs, left_on="arch", right_index=True, how="left")
    out = pd.concat(merged.values(), ignore_index=True)
    proxies = sorted(c for c in out.columns if c not in base_cols + ["val_accuracy", "test_accuracy"])
    out = out[base_cols + proxies + ["val_accuracy", "test_accuracy"]]
    return out.sort_values(["space", "dataset", "index", "arch"], kind="stable").reset_index(drop=True)


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


def coverage(path: str | Path) -> list[Coverage]:
    """Per run: done, failed (with reasons) and missing architectures. 'Missing' is relative to the
    union of architectures recorded for the same (space, dataset) by any run of the file, so a proxy
    that lags behind the others shows up. Where an arch was recorded twice, the last row wins."""
    runs = iter_runs(path)
    universe: dict[tuple[str, str], set[str]] = {}
    for attrs, cols in runs:
        universe.setdefault((attrs["space"], attrs["dataset"]), set()).update(cols["arch"].tolist())
    out = []
    for attrs, cols in runs:
        last: dict[str, str] = {}
        for arch, err in zip(cols["arch"].tolist(), cols["error"].tolist()):
            last[arch] = err
        reasons: dict[str, int] = {}
        for err in last.values():
            if err:
                reasons[err] = reasons.get(err, 0) + 1
        failed = sum(reasons.values())
        key = RunKey(
            **{
                k: attrs[k]
                for k in (
                    "space",
                    "dataset",
                    "proxy",
                    "seed",
                    "batch_size",
                    "dataload",
                    "dataload_info",
                    "data_source",
                    "options",
                )
            },
            data_free=bool(attrs.get("data_free", False)),
        )
        every = universe[(attrs["space"], attrs["dataset"])]
        out.append(
            Coverage(
                attrs["space"],
                attrs["dataset"],
                attrs["proxy"],
                key.setting,
                len(last) - failed,
                failed,
                len(every - last.keys()),
                reasons,
            )
        )
    return sorted(out, key=lambda c: (c.space, c.dataset, c.proxy, c.setting))
