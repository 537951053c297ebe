"""``DIR/zcbench-downloads.json``: what was installed, with hashes, so later runs notice changes.

One record per installed path (a part): what was fetched (name, size, SHA-256, how it was verified)
and a fingerprint of what is installed: a file's size, mtime and SHA-256, or a folder's file count,
total bytes, newest mtime and a digest over every file's SHA-256. Status checks compare size and
mtime first (cheap) and re-hash only when those moved, or always with ``verify=True``; a mismatch
means the file was changed or corrupted after download. The JSON is rewritten atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import DataError
from .verify import file_digest, tree_digest, tree_stats

LOCK_NAME = "zcbench-downloads.json"
FORMAT = "zcbench-downloads/1"


def fingerprint(path: Path, sha256: str | None = None) -> dict[str, Any]:
    """Full fingerprint of an installed file or folder (hashes everything; a file's SHA-256 may be given)."""
    if path.is_dir():
        return {"kind": "dir", **tree_stats(path), "digest": tree_digest(path)}
    st = path.stat()
    return {"kind": "file", "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256 or file_digest(path)}


def compare(path: Path, rec: dict[str, Any], verify: bool = False) -> str:
    """'ok', 'missing' or 'changed' for ``path`` against its recorded fingerprint."""
    if not path.exists():
        return "missing"
    kind = rec.get("kind")
    if (kind == "dir") != path.is_dir():
        return "changed"
    if kind == "dir":
        stats = tree_stats(path)
        if (stats["files"], stats["bytes"]) != (rec.get("files"), rec.get("bytes")):
            return "changed"
        if not verify and stats["mtime_ns"] == rec.get("mtime_ns"):
            return "ok"
        return "ok" if tree_digest(path) == rec.get("digest") else "changed"
    st = path.stat()
    if st.st_size != rec.get("size"):
        return "changed"
    if not verify and st.st_mtime_ns == rec.get("mtime_ns"):
        return "ok"
    return "ok" if file_digest(path) == rec.get("sha256") else "changed"


class LockFile:
    """The records of one data folder; ``save`` writes them atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self.parts: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise DataError(f"{self.path}: unreadable lock file ({err}); move it away to start afresh") from None
            if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("parts"), dict):
                raise DataError(f"{self.path}: not a {FORMAT} lock file; move it away to start afresh")
            self.parts = raw["parts"]

    def get(self, rel: str) -> dict[str, Any] | None:
        return self.parts.get(rel)

    def status(self, rel: str, verify: bool = False) -> str:
        """'ok' / 'changed' / 'missing' for a recorded path, 'unrecorded' when present but not in the lock."""
        rec = self.parts.get(rel)
        target = self.root / rel
        if rec is None:
            return "unrecorded" if target.exists() else "missing"
        return compare(target, rec["installed"], verify)

    def record(
        self,
        rel: str,
        entry: str,
        source: str,
        fetched: dict[str, Any] | None,
        verified: str,
        sha256: str | None = None,
    ) -> None:
        """Record ``rel`` as installed now (``sha256``: the file's hash when already computed)."""
        self.parts[rel] = {
            "entry": entry,
            "source": source,
            "fetched": fetched,
            "verified": verified,
            "installed": fingerprint(self.root / rel, sha256),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def forget(self, rel: str) -> None:
        self.parts.pop(rel, None)

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"format": FORMAT, "parts": dict(sorted(self.parts.items()))}, indent=1)
        fd, tmp = tempfile.mkstemp(prefix=f".{LOCK_NAME}.", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
