"""What can be downloaded: the catalog YAML (built in, or ``$ZCBENCH_DOWNLOAD_CATALOG``) as dataclasses.

The catalog is data, not code, so that a mirror or a test can replace it whole and still go through
exactly the code path of a real download. Loading validates every field and says which entry is wrong.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import UsageError

CATALOG_ENV = "ZCBENCH_DOWNLOAD_CATALOG"
UNPACKERS = ("tar", "zip")
_ENTRY_KEYS = {"name", "description", "kind", "target", "size", "manual", "check", "parts", "expand", "part"}
_PART_KEYS = {"path", "url", "gdrive", "figshare", "file", "checksum", "unpack", "member", "rename", "check", "size"}
_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}


@dataclass(frozen=True)
class Part:
    """One file to fetch and where it ends up under DIR."""

    path: str  # installed location under DIR (file, or the folder an archive member becomes)
    source: str  # "url" | "gdrive" | "figshare" | "manual"
    location: str  # the URL, the Drive id, or "ARTICLE/GLOB" for figshare
    file: str  # name of the downloaded file
    checksum: str | None  # "md5:..." / "sha256:..." or None
    unpack: str | None
    member: str
    rename: tuple[tuple[str, str], ...]
    check: str
    size: int | None
    exact_size: bool  # size given in bytes, not rounded

    def describe_source(self) -> str:
        if self.source == "url":
            return self.location
        if self.source == "gdrive":
            return f"https://drive.google.com/uc?id={self.location}"
        if self.source == "figshare":
            article, pattern = self.location.split("/", 1)
            return f"figshare article {article} ({pattern})"
        return "manual"


@dataclass(frozen=True)
class Entry:
    """A named download: one or more parts plus what --list shows."""

    name: str
    description: str
    kind: str
    target: str
    size: int | None
    size_text: str
    manual: str
    parts: tuple[Part, ...]

    @property
    def checks(self) -> list[str]:
        return sorted({p.check for p in self.parts})

    def checksum_kind(self) -> str:
        """What integrity evidence exists before download: md5/sha256 (published), figshare md5, or none."""
        kinds = set()
        for p in self.parts:
            if p.checksum:
                kinds.add(p.checksum.split(":", 1)[0])
            elif p.source == "figshare":
                kinds.add("md5 (figshare)")
            else:
                kinds.add("none")
        return "+".join(sorted(kinds))


@dataclass(frozen=True)
class Catalog:
    entries: dict[str, Entry]
    targets: dict[str, tuple[str, ...]]
    figshare_api: str
    origin: str  # where it was read from (for messages)

    def get(self, name: str) -> Entry:
        if name not in self.entries:
            raise UsageError(f"unknown download {name!r} (choose from {', '.join(self.entries)}; see --list)")
        return self.entries[name]

    def for_target(self, target: str) -> list[Entry]:
        if target not in self.targets:
            raise UsageError(f"unknown --for target {target!r} (choose from {', '.join(self.targets)})")
        return [self.entries[n] for n in self.targets[target]]


def parse_size(value: Any, where: str) -> tuple[int | None, bool]:
    """``170498071`` (exact bytes) or ``"2.2 GB"`` (rounded, binary units) -> (bytes, exact)."""
    if value is None:
        return None, False
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, True
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?b)\s*", str(value), re.IGNORECASE)
    if not m:
        raise UsageError(f"{where}: size {value!r} is neither bytes nor like '2.2 GB'")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()]), False


def format_size(n: int | None, exact: bool = True) -> str:
    if n is None:
        return "?"
    for unit in ("GB", "MB", "KB"):
        if n >= _UNITS[unit.lower()]:
            v = n / _UNITS[unit.lower()]
            text = f"{v:.2f}".rstrip("0").rstrip(".") if v < 10 else f"{v:.0f}"
            return f"{'' if exact else '~'}{text} {unit}"
    return f"{n} B"


def _safe_rel(path: str, where: str) -> str:
    p = PurePosixPath(str(path))
    if not str(path) or p.is_absolute() or ".." in p.parts:
        raise UsageError(f"{where}: path {path!r} must be relative to DIR, without '..'")
    return p.as_posix()


def _checksum(value: Any, where: str) -> str | None:
    if value is None:
        return None
    m = re.fullmatch(r"(md5|sha256):([0-9a-fA-F]+)", str(value))
    if not m or len(m.group(2)) != {"md5": 32, "sha256": 64}[m.group(1)]:
        raise UsageError(f"{where}: checksum {value!r} is not md5:<32 hex> or sha256:<64 hex>")
    return f"{m.group(1)}:{m.group(2).lower()}"


def _url_source(raw: dict, path: str, where: str) -> tuple[str, str]:
    location = str(raw["url"])
    if urlparse(location).scheme not in ("http", "https"):
        raise UsageError(f"{where}: url {location!r} is not http(s)")
    return location, unquote(PurePosixPath(urlparse(location).path).name)


def _gdrive_source(raw: dict, path: str, where: str) -> tuple[str, str]:
    location = str(raw["gdrive"])
    if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", location):
        raise UsageError(f"{where}: gdrive id {location!r} does not look like a Google Drive file id")
    return location, PurePosixPath(path).name


def _figshare_source(raw: dict, path: str, where: str) -> tuple[str, str]:
    fs = raw["figshare"]
    if not isinstance(fs, dict) or "article" not in fs:
        raise UsageError(f"{where}: figshare wants {{article: ID, file: GLOB}}")
    return f"{int(fs['article'])}/{fs.get('file', '*')}", ""  # the file name is known after asking figshare's API


_SOURCES = {"url": _url_source, "gdrive": _gdrive_source, "figshare": _figshare_source}


def _source(raw: dict, path: str, where: str) -> tuple[str, str, str]:
    """``(source, location, default file name)`` of a part: one of url, gdrive, figshare, else manual."""
    sources = [k for k in _SOURCES if raw.get(k) is not None]
    if len(sources) > 1:
        raise UsageError(f"{where}: give one of url, gdrive, figshare (got {', '.join(sources)})")
    if not sources:
        return "manual", "", PurePosixPath(path).name
    return (sources[0], *_SOURCES[sources[0]](raw, path, where))


def _part(raw: dict, entry: dict, where: str) -> Part:
    from .verify import CHECKS

    unknown = set(raw) - _PART_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "path" not in raw:
        raise UsageError(f"{where}: a part needs 'path'")
    path = _safe_rel(raw["path"], where)
    source, location, default_file = _source(raw, path, where)
    file = str(raw.get("file") or default_file or PurePosixPath(path).name)
    if "/" in file or file in ("", ".", ".."):
        raise UsageError(f"{where}: file name {file!r} must be a plain name")
    unpack = raw.get("unpack")
    if unpack is not None and unpack not in UNPACKERS:
        raise UsageError(f"{where}: unpack {unpack!r} is not one of {', '.join(UNPACKERS)}")
    member = str(raw.get("member") or PurePosixPath(path).name)
    if member != ".":
        member = _safe_rel(member, where)
    rename = raw.get("rename") or {}
    if not isinstance(rename, dict):
        raise UsageError(f"{where}: rename wants {{old_suffix: new_suffix}}")
    check = str(raw.get("check") or entry.get("check") or "none")
    if check not in CHECKS:
        raise UsageError(f"{where}: unknown check {check!r} (known: {', '.join(CHECKS)})")
    size, exact = parse_size(raw.get("size"), where)
    return Part(
        path=path,
        source=source,
        location=location,
        file=file,
        checksum=_checksum(raw.get("checksum"), where),
        unpack=unpack,
        member=member,
        rename=tuple((str(k), str(v)) for k, v in rename.items()),
        check=check,
        size=size,
        exact_size=exact,
    )


def _expand(template: dict, values: dict, where: str) -> list[dict]:
    if not isinstance(template, dict) or not isinstance(values, dict) or not values:
        raise UsageError(f"{where}: 'expand' wants {{var: [values]}} and 'part' a part template")
    names = list(values)
    out = []
    for combo in itertools.product(*(values[n] for n in names)):
        env = {n: str(v) for n, v in zip(names, combo)}

        def fill(v: Any, env: dict = env) -> Any:
            if isinstance(v, str):
                return v.format(**env)
            if isinstance(v, dict):
                return {fill(k): fill(x) for k, x in v.items()}
            return v

        out.append(fill(template))
    return out


def _entry(raw: Any, i: int) -> Entry:
    if not isinstance(raw, dict) or "name" not in raw:
        raise UsageError(f"catalog entry #{i + 1}: needs at least 'name'")
    name = str(raw["name"])
    where = f"catalog entry {name!r}"
    unknown = set(raw) - _ENTRY_KEYS - _PART_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("target", "manual"):
        if not raw.get(key):
            raise UsageError(f"{where}: needs '{key}'")
    inline = {k: v for k, v in raw.items() if k in _PART_KEYS and k not in ("check", "size")}
    raw_parts: list[dict] = list(raw.get("parts") or [])
    if "expand" in raw or "part" in raw:
        raw_parts += _expand(raw.get("part"), raw.get("expand"), where)
    if inline:
        inline.setdefault("path", raw["target"])
        if raw.get("size") is not None and not raw_parts:
            inline["size"] = raw["size"]
        raw_parts.insert(0, inline)
    if not raw_parts:
        raise UsageError(f"{where}: has no source and no parts")
    parts = tuple(_part(p, raw, f"{where}, part {p.get('path', j + 1)}") for j, p in enumerate(raw_parts))
    if len({p.path for p in parts}) != len(parts):
        raise UsageError(f"{where}: two parts install the same path")
    size, exact = parse_size(raw.get("size"), where)
    if size is None and all(p.size is not None for p in parts):
        size, exact = sum(p.size for p in parts), all(p.exact_size for p in parts)  # type: ignore[misc]
    kind = str(raw.get("kind", "dump"))
    return Entry(
        name=name,
        description=" ".join(str(raw.get("description", "")).split()),
        kind=kind,
        target=_safe_rel(raw["target"], where),
        size=size,
        size_text=format_size(size, exact),
        manual=" ".join(str(raw["manual"]).split()),
        parts=parts,
    )


def builtin_catalog_text() -> str:
    from importlib.resources import files

    return (files("zcbench.download") / "catalog.yaml").read_text(encoding="utf-8")


def load_catalog(path: str | os.PathLike | None = None) -> Catalog:
    """The catalog from ``path``, else ``$ZCBENCH_DOWNLOAD_CATALOG``, else the one shipped in the package."""
    import yaml

    path = path or os.environ.get(CATALOG_ENV) or None
    if path:
        origin = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise UsageError(f"{CATALOG_ENV}={path}: cannot read ({err.strerror or err})") from None
    else:
        origin, text = "built-in catalog", builtin_catalog_text()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise UsageError(f"{origin}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
        raise UsageError(f"{origin}: not a zcbench download catalog (no 'entries' list)")
    entries: dict[str, Entry] = {}
    for i, e in enumerate(raw["entries"]):
        entry = _entry(e, i)
        if entry.name in entries:
            raise UsageError(f"{origin}: entry {entry.name!r} appears twice")
        entries[entry.name] = entry
    targets_raw = raw.get("targets") or {}
    if not isinstance(targets_raw, dict):
        raise UsageError(f"{origin}: 'targets' wants {{target: [names]}}")
    targets: dict[str, tuple[str, ...]] = {}
    for t, names in targets_raw.items():
        missing = [n for n in names or [] if n not in entries]
        if missing:
            raise UsageError(f"{origin}: target {t!r} names unknown entries {', '.join(missing)}")
        targets[str(t)] = tuple(names or [])
    return Catalog(entries, targets, str(raw.get("figshare_api") or "https://api.figshare.com/v2").rstrip("/"), origin)


def select(catalog: Catalog, names: tuple[str, ...] | list[str], for_target: str | None) -> list[Entry]:
    """Entries named on the command line plus those of ``--for`` (each once, catalog order kept per source)."""
    chosen: list[Entry] = []
    if for_target:
        chosen += catalog.for_target(for_target)
    for n in names:
        matches = [e for e in catalog.entries.values() if fnmatch.fnmatchcase(e.name, n)] if "*" in n else []
        chosen += matches or [catalog.get(n)]
    seen: set[str] = set()
    return [e for e in chosen if not (e.name in seen or seen.add(e.name))]  # type: ignore[func-returns-value]
