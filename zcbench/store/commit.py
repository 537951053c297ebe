"""Folding rows into the HDF5 file without ever modifying the file readers open, at a cost that does not grow
with the file.

The results file is only ever replaced atomically (``os.replace``). A commit prepares the next version in
``<file>.next`` and renames it over the file. Copying the whole file for that costs time proportional to
its size, every 30 s — at NAS-Bench-101 scale most of a run. So the writer keeps a *spare*: the previous
version of the file, hard-linked as ``<file>.spare`` when it is replaced. The next commit brings the spare
up to date in place — the rows of the previous commit (kept in memory), then the new ones — which costs
time proportional to the new rows only. Only the first commit of a writer copies the file.

The spare is modified in place, so a kill during a commit can leave it torn; it is never read: a writer
deletes any ``.next``/``.spare`` it finds when it opens (they belong to a writer that died). A reader
that still holds the old version open when it becomes the spare is respected: HDF5 readers hold a shared
lock on the file, the writer then leaves the spare alone and copies instead.

Where rows land is planned once per commit (:class:`GroupWrite`), from the writer's in-memory map of
each run's architecture → row position, so the arch column is never read back, and the same plan brings
the spare up to date later.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .rows import h5py
from .schema import COLUMNS, FORMAT, FORMAT_VERSION, Row, RunInfo, RunKey


@dataclass
class GroupWrite:
    """What one commit does to one run's group: rows replaced at known positions, rows appended."""

    key: RunKey
    info: RunInfo
    replace: list[tuple[int, Row]] = field(default_factory=list)
    append: list[Row] = field(default_factory=list)
    start: int = 0  # the group's length before this commit


@dataclass
class CommitPlan:
    groups: list[GroupWrite]
    stamp: str  # the commit's time, written as the runs' ``updated`` (and ``created`` of new runs)


class FileIndex:
    """Where each run's rows are in the HDF5 file: {arch: row} and the column length per group path, read once
    per run (:meth:`load`) and kept up to date by :meth:`record`, so a commit never reads a column back. (A
    file written before the one-row-per-arch rule may hold an arch twice: the length counts every row, the
    position is the last one's, as the reader's rule keeps the first.)"""

    def __init__(self) -> None:
        self.positions: dict[str, dict[str, int]] = {}
        self.lengths: dict[str, int] = {}

    def load(self, path: str, archs: list[str]) -> None:
        self.positions[path] = {a: i for i, a in enumerate(archs)}
        self.lengths[path] = len(archs)

    def record(self, plan: CommitPlan) -> None:
        """Once ``plan`` is in the file."""
        for g in plan.groups:
            pos = self.positions.setdefault(g.key.path, {})
            for k, r in enumerate(g.append):
                pos[r.arch] = g.start + k
            self.lengths[g.key.path] = g.start + len(g.append)


def plan_commit(pending: list[tuple[RunKey, RunInfo, Row]], index: FileIndex, stamp: str) -> CommitPlan:
    """The writes of one commit, given where the file holds each run's rows before it. A row for an arch
    already in the file replaces it in place (a retried failure); a later row for the same arch within the
    commit replaces the earlier one."""
    groups: dict[str, GroupWrite] = {}
    added: dict[str, dict[str, int]] = {}
    for key, info, row in pending:
        pos = index.positions.get(key.path, {})
        g = groups.get(key.path)
        if g is None:
            g = groups[key.path] = GroupWrite(key, info, start=index.lengths.get(key.path, 0))
            added[key.path] = {}
        i = pos.get(row.arch)
        j = added[key.path].get(row.arch)
        if i is not None:
            g.replace.append((i, row))
        elif j is not None:
            g.append[j] = row
        else:
            added[key.path][row.arch] = len(g.append)
            g.append.append(row)
    return CommitPlan(list(groups.values()), stamp)


def apply_plan(f, plan: CommitPlan) -> None:
    """Write one commit's rows into an open HDF5 file that holds the version before it."""
    f.attrs["format"] = FORMAT
    f.attrs["format_version"] = FORMAT_VERSION
    for g in plan.groups:
        _apply_group(f, g, plan.stamp)


def _create_group(f, key: RunKey, info: RunInfo, stamp: str):
    str_dt = h5py().string_dtype()
    g = f.require_group(key.path)
    for k, v in asdict(key).items():
        g.attrs[k] = v
    g.attrs["created"] = stamp
    for k, v in info.attrs().items():
        g.attrs[k] = v
    g.attrs["h5py"] = str(h5py().__version__)
    for c in COLUMNS:
        dt = str_dt if c in ("arch", "error") else (np.int64 if c == "index" else np.float64)
        g.create_dataset(c, shape=(0,), maxshape=(None,), dtype=dt, chunks=(1024,))
    return g


def _apply_group(f, w: GroupWrite, stamp: str) -> None:
    g = f[w.key.path] if w.key.path in f and "arch" in f[w.key.path] else _create_group(f, w.key, w.info, stamp)
    for i, r in w.replace:
        for c in COLUMNS:
            g[c][i] = getattr(r, c)
    if w.append:
        n = w.start + len(w.append)
        for c in COLUMNS:
            ds = g[c]
            ds.resize((n,))
            vals = [getattr(r, c) for r in w.append]
            ds[w.start : n] = np.asarray(vals, dtype=object) if c in ("arch", "error") else np.asarray(vals)
    g.attrs["updated"] = stamp


class Committer:
    """The file side of a :class:`~zcbench.store.writer.ResultStore`: the next version, the spare, the swap."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.next = path.with_name(path.name + ".next")
        self.spare = path.with_name(path.name + ".spare")
        self.lag: CommitPlan | None = None  # the last commit: in the file, not yet in the spare
        self.copies = 0  # full copies made (the first commit of a writer; a spare a reader still holds)
        self.forget()

    def forget(self) -> None:
        """Drop what a dead writer (or this one, closing) left beside the file."""
        for p in (self.next, self.spare, self.path.with_name(self.path.name + ".tmp")):
            p.unlink(missing_ok=True)
        self.lag = None

    def commit(self, plan: CommitPlan) -> None:
        """Make ``plan`` part of the file: the next version is prepared beside it, then renamed over it."""
        try:
            lag = self._reuse_spare()
            try:
                self._write(lag, plan)
            except OSError:
                if lag is None:
                    raise
                self.next.unlink(missing_ok=True)  # a reader opened the spare meanwhile, or it was damaged
                self._copy_file()
                self._write(None, plan)
            self._keep_as_spare()
            os.replace(self.next, self.path)
        except OSError:
            self.next.unlink(missing_ok=True)
            self.lag = None
            raise
        self.lag = plan

    def _write(self, lag: CommitPlan | None, plan: CommitPlan) -> None:
        with h5py().File(self.next, "a") as f:
            if lag is not None:
                apply_plan(f, lag)
            apply_plan(f, plan)
        with open(self.next, "rb") as fh:
            os.fsync(fh.fileno())

    def _copy_file(self) -> None:
        if self.path.exists():
            shutil.copyfile(self.path, self.next)
            self.copies += 1

    def _reuse_spare(self) -> CommitPlan | None:
        """Put an up-to-date base at ``.next``: the spare when it can be used (returns the commit it still
        lacks), else a copy of the file (or nothing, for a new file)."""
        if self.lag is not None and self.spare.exists():
            os.replace(self.spare, self.next)
            if not _held_by_reader(self.next):
                return self.lag
            self.next.unlink()  # a reader still reads this version: leave its inode alone
        self._copy_file()
        return None

    def _keep_as_spare(self) -> None:
        """Hard-link the version about to be replaced as the next commit's spare (none where links fail)."""
        self.spare.unlink(missing_ok=True)
        if self.path.exists():
            try:
                os.link(self.path, self.spare)
            except OSError:
                pass


def _held_by_reader(path: Path) -> bool:
    """Whether some process has ``path`` open through HDF5 (readers hold a shared ``flock``)."""
    with open(path, "rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False
