"""``zcbench download``: plan (validate everything first), fetch, check, install, record.

Each catalog part goes through: lock-file status -> (nothing to do | adopt a file found in place |
fetch into ``DIR/.zcbench-download/<part>/`` -> known checksum (pooch) -> exact size -> unpack into
staging -> structure check -> rename into place -> record in ``DIR/zcbench-downloads.json``).
Whatever fails leaves nothing under a final name; a broken transfer keeps its ``.part`` file so the
next run resumes it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, DownloadError, UsageError
from ..outputs import created_dirs
from . import fetch as fetch_mod
from .catalog import Catalog, Entry, Part, format_size, load_catalog, select
from .lockfile import LockFile
from .unpack import apply_renames, extract, install, remove
from .verify import CHECKS, file_digest

WORK = ".zcbench-download"
SPACE_MARGIN = 1.05  # rounded catalog sizes


def work_dir(root: Path, part: Part) -> Path:
    return root / WORK / re.sub(r"[^A-Za-z0-9._-]+", "__", part.path)


def drop_work(work: Path) -> None:
    """Remove a part's work folder, and the shared one once it is empty."""
    remove(work)
    try:
        work.parent.rmdir()
    except OSError:  # not empty (another part's partial download) or already gone
        pass


@dataclass
class PartState:
    part: Part
    status: str  # ok | missing | unrecorded | changed
    partial: int  # bytes of an unfinished download kept for resuming


@dataclass
class EntryState:
    entry: Entry
    parts: list[PartState]

    @property
    def summary(self) -> str:
        """One word-ish status for --list."""
        st = [p.status for p in self.parts]
        n = len(st)
        if "changed" in st:
            return "CHANGED since download" if n == 1 else f"CHANGED ({st.count('changed')} of {n} parts)"
        if all(s == "ok" for s in st):
            return "ok, verified"
        if all(s in ("ok", "unrecorded") for s in st):
            return "present, not downloaded by zcbench"
        partial = sum(p.partial for p in self.parts)
        done = sum(s in ("ok", "unrecorded") for s in st)
        text = "missing" if done == 0 else f"incomplete ({done} of {n} parts)"
        return f"{text}, {format_size(partial)} partial" if partial else text


def entry_state(entry: Entry, root: Path, lock: LockFile, verify: bool = False) -> EntryState:
    parts = []
    for p in entry.parts:
        status = lock.status(p.path, verify)
        parts.append(PartState(p, status, fetch_mod.partial_bytes(work_dir(root, p))))
    return EntryState(entry, parts)


def _manual_line(entry: Entry) -> str:
    return f"Manual alternative: {entry.manual} (see data/README.md)"


def list_entries(root: Path, names: tuple[str, ...] = (), for_target: str | None = None, verify: bool = False) -> str:
    """The --list text: every catalog entry (or the selected ones) with its status under ``root``."""
    catalog = load_catalog()
    entries = select(catalog, names, for_target) if (names or for_target) else list(catalog.entries.values())
    lock = LockFile(root)
    return format_listing([entry_state(e, root, lock, verify) for e in entries], root, catalog.origin)


def format_listing(states: list[EntryState], root: Path, catalog_origin: str) -> str:
    """Two lines per entry: name, size, checksum, status, description; then source and check."""
    from .verify import describe_check

    lines = [f"data folder: {root}   catalog: {catalog_origin}", ""]
    lines.append(f"{'name':20s} {'size':>8s}  {'checksum':15s} {'status':36s} what")
    for s in states:
        e = s.entry
        lines.append(f"{e.name:20s} {e.size_text:>8s}  {e.checksum_kind():15s} {s.summary:36s} {e.description}")
        sources = sorted({p.describe_source() for p in e.parts})
        src = sources[0] if len(sources) == 1 else f"{len(e.parts)} files ({sources[0]}, ...)"
        checks = "; ".join(f"{c}: {describe_check(c)}" for c in e.checks)
        lines.append(f"{'':20s} -> {e.target} ({e.kind})   from {src}")
        lines.append(f"{'':20s} check {checks}")
    return "\n".join(lines)


@dataclass
class Plan:
    fetch: list[tuple[Entry, Part]]
    adopt: list[tuple[Entry, Part]]
    done: list[Entry]


def make_plan(states: list[EntryState], force: bool) -> Plan:
    """Decide every part's action and refuse impossible requests before anything is downloaded."""
    plan = Plan([], [], [])
    for s in states:
        todo = 0
        for ps in s.parts:
            p, e = ps.part, s.entry
            if ps.status == "ok" and not force:
                continue
            todo += 1
            if ps.status == "changed" and not force:
                raise DownloadError(
                    f"{e.name}: {p.path} changed since zcbench downloaded it (its hash no longer matches "
                    f"zcbench-downloads.json); re-download with --force, or move it away"
                )
            if p.source == "manual":
                raise DownloadError(f"{e.name}: {p.path} has no automatic source. {_manual_line(e)}")
            if ps.status == "unrecorded" and not force:
                plan.adopt.append((e, p))
            else:
                plan.fetch.append((e, p))
        if not todo:
            plan.done.append(s.entry)
    return plan


def _space_needed(fetch: list[tuple[Entry, Part]], root: Path) -> int:
    """Bytes the planned downloads need: what is left to fetch, twice for archives (archive + extracted)."""
    need = 0.0
    for e, p in fetch:
        size = p.size
        if size is None and e.size is not None:
            size = e.size // len(e.parts)
        if size is None:
            continue
        left = max(size - fetch_mod.partial_bytes(work_dir(root, p)), 0)
        need += (left + size if p.unpack else left) * SPACE_MARGIN
    return int(need)


class Downloader:
    """Runs a plan for one data folder, reporting each step through ``echo``."""

    def __init__(self, root: Path, catalog: Catalog, echo: Callable[[str], None], quiet: bool = False) -> None:
        self.root = root
        self.catalog = catalog
        self.echo = echo
        self.quiet = quiet
        self.lock = LockFile(root)

    def _fail(self, entry: Entry, part: Part, file: str, source: str, reason: str, extra: str = "") -> DownloadError:
        what = file if file == Path(part.path).name else f"{file} -> {part.path}"
        return DownloadError(
            f"{entry.name}: cannot download {what} from {source}: {reason}{extra}. {_manual_line(entry)}"
        )

    def adopt(self, entry: Entry, part: Part) -> None:
        """A file put in place by hand: check it like a download and record it."""
        path = self.root / part.path
        try:
            CHECKS[part.check](path)
            if part.checksum and not part.unpack:
                algo, want = part.checksum.split(":", 1)
                if file_digest(path, algo) != want:
                    raise DataError(f"{algo} does not match the published {part.checksum}")
        except DataError as err:
            raise DownloadError(
                f"{entry.name}: {path} exists but is not valid ({err}); move it away, or replace it with --force"
            ) from None
        how = f"{part.checksum.split(':')[0]} (published), " if part.checksum and not part.unpack else ""
        self.lock.record(part.path, entry.name, "found in place", None, f"{how}structure: {part.check}")
        self.lock.save()

    def fetch(self, entry: Entry, part: Part) -> str:
        """Download, verify and install one part; returns how it was verified."""
        work = work_dir(self.root, part)
        resolved, source, downloaded = self._download(entry, part, work)
        size = downloaded.stat().st_size
        expected = resolved.size if resolved.size is not None and resolved.kind == "url" else None
        if part.exact_size and part.size is not None:
            expected = part.size
        try:
            if expected is not None and size != expected:
                raise DataError(f"{size} bytes, expected {expected}")
            sha256 = file_digest(downloaded)
            src = self._stage(part, resolved, downloaded, work)
            CHECKS[part.check](src)
        except (DataError, OSError) as err:
            drop_work(work)
            if isinstance(err, OSError):
                err = DataError(f"cannot unpack or check it: {err.strerror or err}")
            raise self._fail(
                entry,
                part,
                resolved.file,
                source,
                f"not the expected file ({err})",
                "; it was deleted, nothing was installed",
            ) from None
        try:
            install(src, self.root / part.path, work)
        except OSError as err:
            raise DownloadError(
                f"{entry.name}: cannot move {src} to {self.root / part.path}: {err.strerror or err}"
            ) from None
        drop_work(work)  # archive, staging leftovers
        if resolved.checksum:
            verified = f"{resolved.checksum.split(':')[0]} ({resolved.checksum_origin or 'published'}), "
        else:
            verified = "size, " if expected is not None else ""
        verified += f"structure: {part.check}" + ("" if resolved.checksum else "; SHA-256 recorded")
        fetched = {"file": resolved.file, "size": size, "sha256": sha256}
        self.lock.record(part.path, entry.name, source, fetched, verified, None if part.unpack else sha256)
        self.lock.save()
        return verified

    def _download(self, entry: Entry, part: Part, work: Path) -> tuple[fetch_mod.Resolved, str, Path]:
        """Resolve the part's source and download it into ``work`` (resumable; a checksum mismatch deletes it)."""
        source = part.describe_source()
        try:
            resolved = fetch_mod.resolve(part, self.catalog)
        except fetch_mod.TransferError as err:
            raise self._fail(entry, part, part.file or Path(part.path).name, source, str(err)) from None
        if resolved.kind == "url":
            source = resolved.location
        try:
            return resolved, source, fetch_mod.fetch(resolved, work, f"{entry.name}: {resolved.file}", self.quiet)
        except fetch_mod.TransferError as err:
            if str(err).startswith("checksum mismatch"):
                drop_work(work)
                extra = "; the download was deleted, nothing was installed"
            else:
                kept = fetch_mod.partial_bytes(work)
                extra = f"; {format_size(kept)} kept, run the command again to resume" if kept else ""
                if not kept:
                    drop_work(work)  # nothing to resume from
            raise self._fail(entry, part, resolved.file, source, str(err), extra) from None

    def _stage(self, part: Part, resolved: fetch_mod.Resolved, downloaded: Path, work: Path) -> Path:
        """What gets installed: the downloaded file, or the member of its unpacked archive (renames applied)."""
        if not part.unpack:
            return downloaded
        staging = work / f"unpack-{uuid.uuid4().hex[:8]}"
        extract(downloaded, part.unpack, staging, desc=f"unpacking {resolved.file}", quiet=self.quiet)
        src = staging if part.member == "." else staging / part.member
        if not src.exists():
            top = ", ".join(sorted(p.name for p in staging.iterdir())) or "nothing"
            raise DataError(f"the archive has no {part.member!r} (it holds {top})")
        apply_renames(src, part.rename)
        return src

    def run(self, plan: Plan) -> None:
        for e in plan.done:
            self.echo(f"{e.name}: already present and verified ({self.root / e.target})")
        for e, p in plan.adopt:
            self.adopt(e, p)
            self.echo(f"{e.name}: {self.root / p.path} was already there; checked and recorded")
        for e, p in plan.fetch:
            verified = self.fetch(e, p)
            self.echo(f"{e.name}: installed {self.root / p.path} ({verified})")


def download(
    names: tuple[str, ...],
    for_target: str | None,
    root: Path,
    force: bool = False,
    verify: bool = False,
    quiet: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """Fetch, verify and install the named entries (and those ``for_target`` needs) into ``root``."""
    catalog = load_catalog()
    if not names and not for_target:
        raise UsageError("name what to download (zcbench download --list shows every name), or use --for TARGET")
    entries = select(catalog, names, for_target)
    if root.exists() and not root.is_dir():
        raise UsageError(f"--to {root}: not a directory")
    lock = LockFile(root)
    states = [entry_state(e, root, lock, verify) for e in entries]
    plan = make_plan(states, force)
    if any(p.source == "gdrive" for _, p in plan.fetch):
        try:
            fetch_mod.import_gdown()
        except DownloadError:
            e, p = next((e, p) for e, p in plan.fetch if p.source == "gdrive")
            raise DownloadError(
                f"{e.name}: {Path(p.path).name} is on Google Drive, which needs gdown: "
                f"pip install 'zcbench[gdrive]'. {_manual_line(e)}"
            ) from None
    need = _space_needed(plan.fetch, root)
    if need:
        fetch_mod.require_space(root, need, ", ".join(dict.fromkeys(e.name for e, _ in plan.fetch)))
    with created_dirs(root):  # a download that fails before anything is kept leaves no empty --to folder behind
        Downloader(root, catalog, echo, quiet).run(plan)
