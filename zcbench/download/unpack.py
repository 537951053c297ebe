"""Safe archive extraction into a staging folder, and the atomic move into place.

Archives are extracted next to (not into) the data folder's final layout, so a half-extracted
archive never looks like an installed dataset; only after the structure check passes is the member
renamed into place. Members with absolute paths, ``..``, links or device files are refused.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import DataError
from ..progress import track


def _safe_name(name: str) -> None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or name.startswith("\\"):
        raise DataError(f"unsafe archive member {name!r} (absolute path or '..')")


def extract(archive: Path, kind: str, dest: Path, desc: str = "", quiet: bool = False) -> None:
    """Extract ``archive`` (tar, any compression, or zip) into ``dest`` after checking every member."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "tar":
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for m in members:
                    _safe_name(m.name)
                    if not (m.isfile() or m.isdir()):
                        raise DataError(f"archive member {m.name!r} is a link or device, refusing to extract")
                data_filter = getattr(tarfile, "data_filter", None)
                for m in track(members, desc=desc, unit="file", quiet=quiet):
                    if data_filter is not None:
                        tf.extract(m, dest, filter=data_filter)
                    else:  # pragma: no cover - Python without extraction filters; members were checked above
                        tf.extract(m, dest)
        elif kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                for info in infos:
                    _safe_name(info.filename)
                    if (info.external_attr >> 16) & 0o170000 == 0o120000:
                        raise DataError(f"archive member {info.filename!r} is a link, refusing to extract")
                for info in track(infos, desc=desc, unit="file", quiet=quiet):
                    zf.extract(info, dest)
        else:
            raise DataError(f"unknown archive kind {kind!r}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"truncated or corrupt {kind} archive ({err})") from None


def apply_renames(root: Path, renames: tuple[tuple[str, str], ...]) -> None:
    """Rename files ending in an old suffix to the new one (e.g. Taskonomy's class_places -> class_scene)."""
    if not renames:
        return
    for dirpath, _, names in os.walk(root):
        for n in names:
            for old, new in renames:
                if n.endswith(old):
                    os.replace(Path(dirpath) / n, Path(dirpath) / (n[: -len(old)] + new))
                    break


def install(src: Path, dst: Path, trash_dir: Path) -> None:
    """Move ``src`` to ``dst`` by rename; an existing ``dst`` is set aside first and deleted after."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if dst.exists() or dst.is_symlink():
        trash_dir.mkdir(parents=True, exist_ok=True)
        old = trash_dir / f"old-{uuid.uuid4().hex}"
        os.replace(dst, old)
    try:
        os.replace(src, dst)
    except OSError:
        if old is not None:
            os.replace(old, dst)
        raise
    if old is not None:
        remove(old)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
