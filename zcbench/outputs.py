"""Every file zcbench writes goes through here: checked before any work, written atomically, one-line errors.

A command must refuse an unwritable output before it computes anything, and a command that fails
must leave nothing behind — no half-written file under the final name, no directory it created.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import UsageError


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_writable(path: str | Path, what: str = "output") -> Path:
    """Raise UsageError (one line) unless ``path`` could be written, creating nothing."""
    path = Path(path)
    if path.exists():
        if path.is_dir():
            raise UsageError(f"{path}: is a directory, expected a file for the {what}")
        if not os.access(path, os.W_OK):
            raise UsageError(f"{path}: cannot write the {what} (permission denied)")
        return path
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise UsageError(f"{path}: cannot write the {what} ({base} is not a directory)")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: cannot write the {what} ({base} is not writable)")
    return path


def check_writable_dir(path: str | Path, what: str = "output directory") -> Path:
    """Like :func:`check_writable` for a directory that will receive files."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{path}: not a directory, expected the {what}")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{path}: cannot write into the {what} (permission denied)")
        return path
    base = _nearest_existing(path)
    if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: cannot create the {what} ({base} is not a writable directory)")
    return path


@contextlib.contextmanager
def created_dirs(path: str | Path) -> Iterator[list[Path]]:
    """Create directory ``path`` (and missing parents); yields the ones created, removed again if the
    block raises. Callers that fail later remove them with :func:`remove_created`."""
    path = Path(path)
    made: list[Path] = []
    p = path
    while not p.exists() and p.parent != p:
        made.append(p)
        p = p.parent
    made.reverse()
    try:
        for d in made:
            d.mkdir()
    except OSError as err:
        remove_created(made)
        raise UsageError(f"{path}: cannot write here (creating the directory failed: {err.strerror})") from None
    try:
        yield made
    except BaseException:
        remove_created(made)
        raise


def remove_created(made: list[Path]) -> None:
    """Remove directories this process created, innermost first, where they are still empty."""
    for d in reversed(made):
        try:
            d.rmdir()
        except FileNotFoundError:
            continue  # already removed (a nested writer cleaned up after itself)
        except OSError:
            break


def write_text(path: str | Path, text: str, what: str = "output") -> Path:
    """Write ``text`` atomically (temporary file in the same directory, then rename)."""
    return write_bytes(path, text.encode("utf-8"), what)


def write_bytes(path: str | Path, data: bytes, what: str = "output") -> Path:
    """Write ``data`` atomically; a failure leaves neither a file nor a directory it created."""
    return write_all({path: data}, what)[0]


def _replace_with(path: Path, data: bytes, what: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise UsageError(f"{path}: cannot write the {what} ({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write the {what} ({err.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all(files: Mapping[str | Path, bytes | str], what: str = "output") -> list[Path]:
    """Write several files (text is UTF-8) as one: every path is checked before the first is written,
    each is replaced atomically, and when one fails the ones written by this call and the directories
    it created are removed again. Returns the paths, in order."""
    items = [(check_writable(p, what), d.encode("utf-8") if isinstance(d, str) else d) for p, d in files.items()]
    made_all: list[Path] = []
    written: list[Path] = []
    try:
        for path, data in items:
            with created_dirs(path.parent) as made:
                made_all.extend(made)
                _replace_with(path, data, what)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        remove_created(made_all)
        raise
    return written


@contextlib.contextmanager
def atomic_path(path: str | Path, what: str = "output") -> Iterator[Path]:
    """A temporary path next to ``path`` for a writer that wants a file name (matplotlib, pandas);
    renamed onto ``path`` when the block succeeds, removed (with created directories) when it fails."""
    path = check_writable(path, what)
    with created_dirs(path.parent) as made:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
        try:
            yield tmp
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            remove_created(made)
            raise UsageError(f"{path}: cannot write the {what} ({err.strerror})") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            remove_created(made)
            raise
