"""The single writer of a results file: journal first, atomic HDF5 replacement, the row invariant.

Crash safety: finished rows first go to an append-only journal ``<file>.journal`` (one JSON line per
row, flushed and fsync'ed); the HDF5 file itself is only ever replaced atomically (written to a
temporary copy, then renamed), so a kill at any moment leaves the last complete HDF5 file plus a
journal that the next open replays. Only one process writes (a lock on the journal); readers merge
file and journal (``zcbench.store.reader``).

Nothing is created before there is something to keep: opening checks that the output can be
written, and a writer that never received a row leaves no file, journal or directory behind.
Every row is checked on arrival against the run it joins: its identity (truth, data, device,
versions — ``schema.identity_conflict``) and the one-row-per-architecture rule (``schema.merge_row``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import StoreError, UsageError
from ..outputs import check_writable, created_dirs, remove_created
from .rows import RunRows, check_results_file, group_attrs, h5py, journal_path, read_group, read_journal
from .schema import COLUMNS, FORMAT, FORMAT_VERSION, Row, RowConflict, RunInfo, RunKey, identity_conflict, row_to_json


def _now() -> str:
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")  # orders runs updated within a second


class ResultStore:
    """The single writer of a results file. Use as a context manager.

    ``allow_mixed`` lets rows computed with other library versions or on another device kind join a run
    (``--ignore-versions``); the truth (dump, schedule) and the minibatch are never mixed."""

    def __init__(self, path: str | Path, commit_every: float = 30.0, allow_mixed: bool = False) -> None:
        self.path = Path(path)
        self.journal = journal_path(self.path)
        self.commit_every = commit_every
        self.allow_mixed = allow_mixed
        self._pending: list[tuple[RunKey, RunInfo, Row]] = []
        self._runs: dict[str, list] = {}  # group path -> [attrs or None (not written yet), rows]: file + pending
        self._jfh = None
        self._last_commit = time.monotonic()
        check_results_file(self.path)
        try:
            check_writable(self.path, "results file")
        except UsageError as err:
            raise StoreError(str(err)) from None
        with created_dirs(self.path.parent) as made:
            try:
                self._jfh = open(self.journal, "a+", encoding="utf-8")
            except OSError as err:
                raise StoreError(f"{self.path}: cannot write results here ({err.strerror})") from None
        self._made_dirs = made
        try:
            fcntl.flock(self._jfh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._jfh.close()
            self._jfh = None
            raise StoreError(f"{self.path}: another zcbench process is writing this file") from None
        replay = read_journal(self.journal)
        try:
            self._accept(replay, strict=False)
        except StoreError:
            self.close()
            raise
        if self._pending:
            self.commit()
        elif self.journal.stat().st_size > 0:  # only a torn line or replays already in the file
            self._truncate_journal()

    # -- the rules ------------------------------------------------------------------------------
    def _run(self, key: RunKey) -> list:
        """[attributes or None, rows] of the run as it stands (file + accepted rows), loaded once. The
        attributes of a run not yet in the file are those of the first row it accepts."""
        if key.path not in self._runs:
            attrs, rows = None, RunRows()
            if self.path.exists():
                with h5py().File(self.path, "r") as f:
                    if key.path in f:
                        attrs, rows = group_attrs(f[key.path]), RunRows(read_group(f[key.path]))
            self._runs[key.path] = [attrs, rows]
        return self._runs[key.path]

    def _accept(self, items: list[tuple[RunKey, RunInfo, Row]], strict: bool = True) -> list:
        """Check ``items`` against their runs and keep the ones that change something."""
        kept = []
        for key, info, row in items:
            run = self._run(key)
            if run[0] is None:
                run[0] = asdict(key) | info.attrs()
            attrs, rows = run
            why = identity_conflict(attrs, info, self.allow_mixed)
            if why is not None:
                raise StoreError(f"{self.path}: run {key.path} cannot take these rows: {why}")
            try:
                if rows.add(row, strict=True):
                    kept.append((key, info, row))
            except RowConflict as err:
                if strict:
                    raise StoreError(f"{self.path}: run {key.path}: {err}") from None
        self._pending.extend(kept)
        return kept

    # -- writing --------------------------------------------------------------------------------
    def append(self, key: RunKey, info: RunInfo, rows: Iterable[Row]) -> None:
        """Rows of one run: see :meth:`append_many`."""
        self.append_many((key, info, r) for r in rows)

    def append_many(self, items: Iterable[tuple[RunKey, RunInfo, Row]]) -> None:
        """Make rows of one or more runs durable now (journal, one fsync) and part of the HDF5 file at the
        next commit. Raises StoreError (nothing written) when a row breaks a run's identity or invariant."""
        kept = self._accept(list(items))
        if not kept:
            return
        self._jfh.write("".join(row_to_json(k, i, r) + "\n" for k, i, r in kept))
        self._jfh.flush()
        os.fsync(self._jfh.fileno())
        if not self.path.exists() or time.monotonic() - self._last_commit >= self.commit_every:
            self.commit()

    def commit(self) -> None:
        """Fold the pending rows into the HDF5 file by atomic replacement, then empty the journal."""
        if not self._pending:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            if self.path.exists():
                shutil.copyfile(self.path, tmp)
            with h5py().File(tmp, "a") as f:
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
            tmp.unlink(missing_ok=True)
            raise StoreError(f"{self.path}: cannot write results ({err})") from None
        self._pending = []
        self._truncate_journal()
        self._last_commit = time.monotonic()

    def _truncate_journal(self) -> None:
        self._jfh.seek(0)
        self._jfh.truncate()
        self._jfh.flush()
        os.fsync(self._jfh.fileno())

    def close(self) -> None:
        if self._jfh is None:
            return
        try:
            if self._pending:
                self.commit()
        finally:
            fcntl.flock(self._jfh, fcntl.LOCK_UN)
            self._jfh.close()
            self._jfh = None
            try:
                if self.journal.stat().st_size == 0:
                    self.journal.unlink()
            except OSError:
                pass
            if not self.path.exists():
                remove_created(self._made_dirs)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------
    def done(self, key: RunKey) -> set[str]:
        """Architectures of run ``key`` already recorded (scored or failed)."""
        return set(self._run(key)[1].rows)


def _write_rows(f, key: RunKey, info: RunInfo, rows: list[Row]) -> None:
    """Append ``rows`` to the run's group (creating it), replacing the rows of retried failures in place."""
    str_dt = h5py().string_dtype()
    g = f.require_group(key.path)
    if "arch" not in g:
        for k, v in asdict(key).items():
            g.attrs[k] = v
        g.attrs["created"] = _now()
        for k, v in info.attrs().items():
            g.attrs[k] = v
        g.attrs["h5py"] = str(h5py().__version__)
        for c in COLUMNS:
            dt = str_dt if c in ("arch", "error") else (np.int64 if c == "index" else np.float64)
            g.create_dataset(c, shape=(0,), maxshape=(None,), dtype=dt, chunks=(1024,))
    position = {a: i for i, a in enumerate(g["arch"].asstr()[()])}
    new: list[Row] = []
    for r in rows:
        i = position.get(r.arch)
        if i is None:
            position[r.arch] = -1 - len(new)  # a later row for the same arch within this batch replaces it
            new.append(r)
        elif i < 0:
            new[-1 - i] = r
        else:
            for c in COLUMNS:
                g[c][i] = getattr(r, c)
    n0 = g["arch"].shape[0]
    n = n0 + len(new)
    if new:
        for c in COLUMNS:
            ds = g[c]
            ds.resize((n,))
            vals = [getattr(r, c) for r in new]
            ds[n0:n] = np.asarray(vals, dtype=object) if c in ("arch", "error") else np.asarray(vals)
    g.attrs["updated"] = _now()
