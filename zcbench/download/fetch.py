"""Getting bytes: pooch for the download protocol, a Range-resuming HTTP downloader, gdown for Drive.

Why pooch: it verifies a known hash before a file gets its final name (a temp name, the hash check,
then a rename; a mismatch deletes the temp), and takes a downloader callable, so resuming and
Google Drive plug into the same path. pooch itself restarts interrupted downloads from zero under a
fresh random temp name, so the downloaders here keep a stable ``<file>.part`` (HTTP Range
continuation with ``requests``, a pooch dependency) or let gdown resume its own partial file, and
hand the complete file to pooch's temp name. pooch's ``Untar``/``Unzip`` processors are not used:
they extract next to the archive and count a half-extracted folder as done, whereas ``unpack.py``
extracts into staging, checks, and renames. pooch's DOI support needs the exact file name inside a
figshare article; the NB301 article's file name is not published in any README, so figshare parts
are resolved through the figshare API here (which also publishes each file's MD5).

Failures raise :class:`TransferError` with a short reason; ``core`` adds the entry, the source and
the manual alternative to make the one-line user error.
"""

from __future__ import annotations

import fnmatch
import inspect
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import DownloadError
from ..progress import bar
from .catalog import Catalog, Part

ATTEMPTS = 3  # transfers that break mid-way are resumed this many times in one run
RETRY_WAIT = 1.0  # seconds before the first retry (doubles); tests set it to 0
TIMEOUT = (15.0, 60.0)  # connect, read (seconds)
PARTIAL_SUFFIX = ".part"


class TransferError(Exception):
    """A download that did not complete; ``retry`` says whether resuming could help."""

    def __init__(self, reason: str, retry: bool = False) -> None:
        super().__init__(reason)
        self.retry = retry


@dataclass(frozen=True)
class Resolved:
    """A part's concrete source: URL (or Drive id), the downloaded file's name, its known hash and size."""

    kind: str  # "url" | "gdrive"
    location: str
    file: str
    checksum: str | None
    size: int | None
    checksum_origin: str  # "published" / "pinned" / "figshare" / ""


def _user_agent() -> dict[str, str]:
    return {"User-Agent": f"zcbench/{__version__} (+python-requests)", "Accept-Encoding": "identity"}


def resolve(part: Part, catalog: Catalog) -> Resolved:
    """Turn a catalog part into something to download (asks the figshare API for figshare parts)."""
    origin = "published" if part.checksum else ""
    if part.source == "url":
        return Resolved("url", part.location, part.file, part.checksum, part.size, origin)
    if part.source == "gdrive":
        return Resolved("gdrive", part.location, part.file, part.checksum, part.size, origin)
    if part.source == "figshare":
        import requests

        article, pattern = part.location.split("/", 1)
        api = f"{catalog.figshare_api}/articles/{article}/files"
        try:
            r = requests.get(api, params={"page_size": 1000}, headers=_user_agent(), timeout=TIMEOUT)
            r.raise_for_status()
            files = r.json()
        except requests.exceptions.HTTPError as err:
            raise TransferError(f"figshare API {api}: HTTP {err.response.status_code}") from None
        except requests.exceptions.RequestException as err:
            raise TransferError(f"figshare API {api}: {_short(err)}") from None
        except ValueError:
            raise TransferError(f"figshare API {api}: not a JSON file list") from None
        if not isinstance(files, list):
            raise TransferError(f"figshare API {api}: not a file list")
        hits = [f for f in files if isinstance(f, dict) and fnmatch.fnmatch(str(f.get("name", "")), pattern)]
        if len(hits) != 1:
            names = ", ".join(str(f.get("name")) for f in files if isinstance(f, dict)) or "none"
            raise TransferError(f"figshare article {article}: {len(hits)} files match {pattern!r} (files: {names})")
        f = hits[0]
        md5 = f.get("computed_md5") or f.get("supplied_md5")
        checksum = f"md5:{md5.lower()}" if isinstance(md5, str) and re.fullmatch(r"[0-9a-fA-F]{32}", md5) else None
        size = f.get("size") if isinstance(f.get("size"), int) else None
        name = Path(str(f["name"])).name
        return Resolved("url", str(f["download_url"]), name, checksum, size, "figshare" if checksum else "")
    raise TransferError("no automatic source")


def _short(err: BaseException) -> str:
    """A one-line reason for a requests/urllib3 error (their messages nest whole reprs)."""
    import requests

    if isinstance(err, requests.exceptions.ConnectTimeout):
        return "connection timed out (offline, or the host is unreachable)"
    if isinstance(err, requests.exceptions.Timeout):
        return "the server stopped answering (read timeout)"
    if isinstance(err, requests.exceptions.ConnectionError) and not isinstance(
        err, requests.exceptions.ChunkedEncodingError
    ):
        return reason_from_text(str(err)) or "cannot connect (offline, or the host is unreachable)"
    return reason_from_text(str(err)) or type(err).__name__


def reason_from_text(text: str) -> str:
    """The usual network failures, recognised in the nested reprs that requests/urllib3/gdown produce."""
    if any(s in text for s in ("Name or service not known", "nodename nor servname", "NameResolutionError")):
        return "host name not found (offline?)"
    if "Connection refused" in text:
        return "connection refused"
    if "IncompleteRead" in text or "Connection broken" in text:
        return "the connection closed early"
    if "Max retries exceeded" in text or "Network is unreachable" in text:
        return "cannot connect (offline, or the host is unreachable)"
    return ""


def free_space(path: Path) -> int:
    """Free bytes on the file system that holds ``path`` (or its nearest existing parent)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def require_space(path: Path, needed: int, what: str) -> None:
    free = free_space(path)
    if needed > free:
        from .catalog import format_size

        raise DownloadError(
            f"not enough disk space in {path} for {what}: {format_size(needed)} needed, {format_size(free)} free"
        )


class RangeDownloader:
    """A pooch downloader: HTTP GET into a stable ``.part`` file, continued with ``Range`` after a break."""

    def __init__(self, partial: Path, desc: str, quiet: bool = False) -> None:
        self.partial = partial
        self.desc = desc
        self.quiet = quiet

    def __call__(self, url: str, output_file: str, pooch: object) -> None:
        wait = RETRY_WAIT
        for attempt in range(ATTEMPTS):
            try:
                self._transfer(url)
                break
            except TransferError as err:
                if not err.retry or attempt == ATTEMPTS - 1:
                    raise
                time.sleep(wait)
                wait *= 2
        os.replace(self.partial, output_file)

    def _transfer(self, url: str) -> None:
        import requests

        have = self.partial.stat().st_size if self.partial.is_file() else 0
        headers = _user_agent()
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            r = requests.get(url, headers=headers, stream=True, timeout=TIMEOUT)
        except requests.exceptions.RequestException as err:
            raise TransferError(_short(err), retry=isinstance(err, requests.exceptions.ReadTimeout)) from None
        with r:
            if r.status_code == 416 and have:
                m = re.fullmatch(r"bytes \*/(\d+)", r.headers.get("Content-Range", ""))
                if m and int(m.group(1)) == have:
                    return  # the partial file is already complete
                self.partial.unlink()
                raise TransferError("the server refused to resume; restarting", retry=True)
            if r.status_code >= 400:
                raise TransferError(f"HTTP {r.status_code} {r.reason or ''}".strip(), retry=r.status_code >= 500)
            have, mode, total, encoded = self._extent(r, have)
            if total is not None:
                require_space(self.partial.parent, total - have, self.desc)
            self._write(r, mode, total, have, encoded)
        got = self.partial.stat().st_size
        if total is not None and got != total:
            raise TransferError(f"transfer stopped at {got} of {total} bytes", retry=True)

    def _extent(self, r, have: int) -> tuple[int, str, int | None, bool]:
        """``(bytes already here, file mode, total size or None, body encoded?)`` from the response headers:
        a 206 continues the partial file, anything else starts over."""
        total: int | None
        if have and r.status_code == 206:
            m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", r.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                self.partial.unlink()
                raise TransferError("the server resumed at the wrong offset; restarting", retry=True)
            total = int(m.group(3)) if m.group(3) != "*" else None
            mode = "ab"
        else:
            have, mode = 0, "wb"  # no Range support (200): start over
            length = r.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        encoded = r.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if encoded:  # the server compressed despite Accept-Encoding: identity; sizes are not file sizes
            total = None
        return have, mode, total, encoded

    def _write(self, r, mode: str, total: int | None, have: int, encoded: bool) -> None:
        """The body into the partial file, with a progress bar; a break is a retryable TransferError."""
        import requests
        import urllib3

        self.partial.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(self.partial, mode) as fh,
            bar(total=total, desc=self.desc, unit="B", quiet=self.quiet, unit_scale=True, initial=have) as b,
        ):
            try:
                for chunk in _chunks(r, decode=encoded):
                    fh.write(chunk)
                    b.update(len(chunk))
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
                raise TransferError(f"transfer interrupted ({_short(err)})", retry=True) from None


def _chunks(r, decode: bool):
    """The response body as it arrives. ``read1`` (urllib3 >= 2) hands over every byte received before a
    connection breaks, so a resume continues exactly there; ``iter_content`` would drop the last chunk."""
    raw = r.raw
    if hasattr(raw, "read1"):
        while True:
            block = raw.read1(1 << 20, decode_content=decode)
            if not block:
                return
            yield block
    else:  # pragma: no cover - urllib3 < 2
        yield from r.iter_content(chunk_size=1 << 16)


def import_gdown():
    """gdown, or a one-line error saying how to get it (Google Drive needs it: confirm pages, cookies)."""
    try:
        import gdown
    except ImportError:
        raise DownloadError("Google Drive downloads need gdown: pip install 'zcbench[gdrive]'") from None
    return gdown


def _gdown_errors(gdown) -> tuple[type[BaseException], ...]:
    """What gdown raises for a file it cannot fetch (its own types differ between versions)."""
    exc = getattr(gdown, "exceptions", None)
    own = (getattr(exc, n, None) for n in ("FileURLRetrievalError", "DownloadError"))
    return (*(t for t in own if isinstance(t, type)), OSError, ValueError)


class GDriveDownloader:
    """A pooch downloader that lets gdown fetch a Drive file, resuming gdown's own partial file."""

    def __init__(self, file_id: str, staged: Path, desc: str, quiet: bool = False) -> None:
        self.file_id = file_id
        self.staged = staged  # stable output name: gdown resumes <name>XXXXXXXX.part next to it
        self.desc = desc
        self.quiet = quiet

    def __call__(self, url: str, output_file: str, pooch: object) -> None:
        import requests

        gdown = import_gdown()
        kwargs: dict = {"id": self.file_id, "output": str(self.staged), "quiet": True, "resume": True}
        params = inspect.signature(gdown.download).parameters
        if "retries" in params:  # gdown >= 6 resumes transient failures itself
            kwargs["retries"] = ATTEMPTS - 1
        self.staged.parent.mkdir(parents=True, exist_ok=True)
        announced: list[int | None] = [None]  # the size Drive announced, when gdown reports it
        with bar(desc=self.desc, unit="B", quiet=self.quiet, unit_scale=True) as b:
            if "progress" in params:

                def progress(done: int, total: int | None) -> None:
                    if total and b.total != total:
                        b.total = total
                    announced[0] = total
                    b.update(done - b.n)

                kwargs["progress"] = progress
            else:  # gdown < 6: its own bar, when ours would show
                kwargs["quiet"] = bool(b.disable)
            try:
                out = gdown.download(**kwargs)
            except requests.exceptions.RequestException as err:
                raise TransferError(_short(err)) from None
            except _gdown_errors(gdown) as err:
                text = str(err).strip()
                first = text.splitlines()[0][:200] if text else type(err).__name__
                raise TransferError(reason_from_text(text) or f"gdown: {first}") from None
        if not out or not self.staged.is_file():
            raise TransferError("gdown returned without the file")
        got = self.staged.stat().st_size
        if announced[0] and got != announced[0]:
            self.staged.unlink()
            raise TransferError(f"transfer stopped at {got} of {announced[0]} bytes")
        os.replace(self.staged, output_file)


def partial_bytes(work: Path) -> int:
    """Bytes of unfinished downloads kept in a part's work folder (ours and gdown's ``.part`` files)."""
    if not work.is_dir():
        return 0
    return sum(p.stat().st_size for p in work.glob(f"*{PARTIAL_SUFFIX}") if p.is_file())


def fetch(resolved: Resolved, work: Path, desc: str, quiet: bool = False) -> Path:
    """Download ``resolved`` to ``work/<file>`` through pooch (known hash checked before the rename)."""
    import pooch
    import requests

    if resolved.kind == "gdrive":
        downloader = GDriveDownloader(resolved.location, work / (resolved.file + ".gdown"), desc, quiet)
        url = f"https://drive.google.com/uc?id={resolved.location}"
    else:
        downloader = RangeDownloader(work / (resolved.file + PARTIAL_SUFFIX), desc, quiet)
        url = resolved.location
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # pooch logs every download at INFO on stderr; our own lines say what happened
    try:
        path = pooch.retrieve(url, known_hash=resolved.checksum, fname=resolved.file, path=work, downloader=downloader)
    except ValueError as err:  # pooch: hash mismatch (the temp file is already deleted)
        msg = str(err).split(". ")[0]
        raise TransferError(f"checksum mismatch: {msg}") from None
    except requests.exceptions.RequestException as err:
        raise TransferError(_short(err)) from None
    except OSError as err:  # writing the download (disk full, permissions)
        raise TransferError(f"cannot write into {work}: {err.strerror or err}") from None
    finally:
        logger.setLevel(level)
    return Path(path)
