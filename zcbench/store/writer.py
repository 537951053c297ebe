"""The single writer of a results file: journal first, atomic HDF5 replacement, the row invariant.

Crash safety: finished rows first go to an append-only journal ``<file>.journal`` (one JSON line per
row, flushed and fsync'ed); the HDF5 file itself is only ever replaced atomically (the next version is
prepared beside it, then renamed: ``zcbench.store.commit``, at a cost proportional to the new rows), so a
kill at any moment leaves the last complete HDF5 file plus a journal that the next open replays. Only one
process writes (a lock on the journal); readers merge file and journal (``zcbench.store.reader``).

Nothing is created before there is something to keep: opening checks that the output can be
written, and a writer that never received a row leaves no file, journal or directory behind.
Every row is checked on arrival against the run it joins: its identity (truth, data, device,
versions — ``schema.identity_conflict``) and the one-row-per-architecture rule (``schema.merge_row``).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from ..errors import StoreError, UsageError
from ..outputs import check_writable, created_dirs, remove_created
from .commit import Committer, FileIndex, plan_commit
from .rows import RunRows, check_results_file, group_attrs, h5py, journal_path, read_group, read_journal
from .schema import Row, RowConflict, RunInfo, RunKey, identity_conflict, row_to_json


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
        self._index = FileIndex()  # where the HDF5 file holds each run's rows
        self._jfh = None
        self._committer: Committer | None = None
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
        self._committer = Committer(self.path)  # only now: what lies beside the file is a dead writer's
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
                        stored = read_group(f[key.path])
                        attrs, rows = group_attrs(f[key.path]), RunRows(stored)
                        self._index.load(key.path, [r.arch for r in stored])
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

    def check_identity(self, key: RunKey, info: RunInfo) -> None:
        """Raise StoreError (nothing written) when rows of identity ``info`` could not join run ``key``: the
        check the engine makes as soon as its workers have reported their device."""
        attrs = self._run(key)[0]
        why = None if attrs is None else identity_conflict(attrs, info, self.allow_mixed)
        if why is not None:
            raise StoreError(f"{self.path}: run {key.path} cannot be continued: {why}; write to another --out")

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
        plan = plan_commit(self._pending, self._index, _now())
        try:
            self._committer.commit(plan)
        except OSError as err:
            raise StoreError(f"{self.path}: cannot write results ({err})") from None
        self._index.record(plan)
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
            if self._committer is not None:
                self._committer.forget()  # the spare: the previous version, useless once the writer is gone
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
