"""Integrity of what was fetched: checksums, and structure checks that reuse the readers where cheap.

A published checksum (CIFAR's MD5s, a pinned git file's SHA-256, figshare's MD5) is compared by pooch
while downloading. Where none is known, what was fetched must at least *be* the expected file: each
catalog part names one check below. Small files are read fully by zcbench's own readers; multi-GB
dumps only get framing checks (zip directory / magic numbers / the first TFRecord record), so a check
never loads a whole dump. Every check raises :class:`DataError` with the reason, or returns quietly.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import DataError, ZcbenchError

# torch.save before 1.6: a protocol-2 pickle of the magic number 0x1950a86a20f9469cfc6c
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19."
_HTML_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<head")


def _head(path: Path, n: int = 64) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _not_html(path: Path) -> None:
    """A web page saved under the file's name (Drive quota/virus-scan page, a 404 page) is the most
    common wrong download; say so plainly."""
    if _head(path, 512).lstrip().lower().startswith(_HTML_STARTS):
        raise DataError("got an HTML page instead of the file (Google Drive quota or sharing page, or an error page)")


def _wrap(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(path: Path) -> None:
        try:
            fn(path)
        except DataError:
            raise
        except ZcbenchError as err:  # a reader's DumpError etc.: same message, one error type here
            raise DataError(str(err)) from None
        except (OSError, ValueError, EOFError) as err:
            raise DataError(f"{type(err).__name__}: {err}") from None

    run.__doc__ = fn.__doc__
    return run


def _file(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"{path.name}: expected a file")
    if path.stat().st_size == 0:
        raise DataError(f"{path.name}: empty file")


def check_torch_pth(path: Path) -> None:
    """torch .pth framing: a zip whose central directory lists data.pkl, or the legacy magic number."""
    import zipfile

    _file(path)
    head = _head(path)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:  # reads only the central directory at the end: catches truncation
                names = zf.namelist()
        except zipfile.BadZipFile as err:
            raise DataError(f"truncated or corrupt torch zip file ({err})") from None
        if not any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
            raise DataError("a zip file, but not a torch.save file (no data.pkl)")
        return
    if head.startswith(_LEGACY_TORCH_MAGIC):
        return
    _not_html(path)
    raise DataError("not a torch.save file (neither the zip format nor the legacy magic number)")


def check_bz2_pickle(path: Path) -> None:
    """bz2 magic, and the first decompressed bytes are a pickle header."""
    import bz2

    _file(path)
    _not_html(path)
    with open(path, "rb") as fh:
        if fh.read(3) != b"BZh":
            raise DataError("not a bz2 file")
        fh.seek(0)
        dec = bz2.BZ2Decompressor()
        out = b""
        while len(out) < 2:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            out += dec.decompress(chunk, max_length=64)
    if not (out[:1] == b"\x80" and len(out) > 1 and 2 <= out[1] <= 5):
        raise DataError("a bz2 file that does not hold a pickle")


def check_pickle(path: Path) -> None:
    """Pickle protocol header (PROTO opcode, protocol 2-5)."""
    _file(path)
    _not_html(path)
    head = _head(path, 2)
    if not (head[:1] == b"\x80" and len(head) == 2 and 2 <= head[1] <= 5):
        raise DataError("not a pickle file")


def check_tfrecord(path: Path) -> None:
    """The first TFRecord record: length CRC, data CRC (masked CRC-32C) and an NB101 JSON payload."""
    import struct

    from ..spaces.tfrecord import crc32c, masked_crc

    _file(path)
    _not_html(path)
    with open(path, "rb") as fh:
        header = fh.read(12)
        if len(header) < 12:
            raise DataError("shorter than one TFRecord header")
        (length,) = struct.unpack("<Q", header[:8])
        if masked_crc(crc32c(header[:8])) != struct.unpack("<I", header[8:])[0]:
            raise DataError("not a TFRecord file (length CRC of the first record does not match)")
        if length > 1 << 24:
            raise DataError(f"first TFRecord record claims {length} bytes: not an NB101 file")
        data = fh.read(length)
        tail = fh.read(4)
    if len(data) < length or len(tail) < 4:
        raise DataError("truncated in the first TFRecord record")
    if masked_crc(crc32c(data)) != struct.unpack("<I", tail)[0]:
        raise DataError("first TFRecord record: data CRC mismatch")
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError("first TFRecord record is not NB101's JSON payload") from None
    if not (isinstance(payload, list) and len(payload) == 5 and isinstance(payload[0], str)):
        raise DataError("first TFRecord record is not NB101's [hash, epochs, adjacency, ops, metrics] list")


def check_suite_zero_json(path: Path) -> None:
    """Full JSON parse; {dataset: {architecture: {'val_accuracy': ..., proxy: ...}}} layout."""
    _file(path)
    _not_html(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"not valid JSON ({err})") from None
    if not isinstance(obj, dict) or not obj:
        raise DataError("not a NAS-Bench-Suite-Zero file (top level is not a non-empty {dataset: ...} object)")
    for dataset, archs in obj.items():
        if not isinstance(archs, dict) or not archs:
            raise DataError(f"not a NAS-Bench-Suite-Zero file ({dataset!r} does not map architectures)")
        first = next(iter(archs.values()))
        if not isinstance(first, dict) or "val_accuracy" not in first:
            raise DataError(f"not a NAS-Bench-Suite-Zero file ({dataset!r} entries lack 'val_accuracy')")


def check_swap_csv(path: Path) -> None:
    """Read fully by zcbench's NB301 genotype-CSV reader (SWAP's header-less layout)."""
    from ..spaces.nb301 import read_csv, read_text

    _file(path)
    _not_html(path)
    read_csv(path, read_text(path))


def _cifar(folder: Path, files: list[str], label_key: str, size: int) -> None:
    from ..data.images import _read_batch

    if not folder.is_dir():
        raise DataError(f"{folder.name}: expected a folder")
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{folder.name}: missing {', '.join(missing)}")
    for f in files:
        _read_batch(folder / f, label_key, size)


def check_cifar10(path: Path) -> None:
    """Every batch of cifar-10-batches-py/ read by zcbench's CIFAR reader (shape, labels)."""
    from ..data.images import EXPECTED

    _, files, key, size = EXPECTED["cifar10"]
    _cifar(path, [*files, "test_batch"], key, size)


def check_cifar100(path: Path) -> None:
    """cifar-100-python/train and test read by zcbench's CIFAR reader (fine labels)."""
    from ..data.images import EXPECTED

    _, files, key, size = EXPECTED["cifar100"]
    _cifar(path, [*files, "test"], key, size)


def check_imagenet16_batch(path: Path) -> None:
    """One ImageNet16 batch read by zcbench's reader (16x16 RGB rows, labels)."""
    from ..data.images import EXPECTED, _read_batch

    _, _, key, size = EXPECTED["ImageNet16-120"]
    _file(path)
    _not_html(path)
    _read_batch(path, key, size)


def check_nats_simple(path: Path) -> None:
    """meta.pickle.pbz2 read by the NB201 reader (15,625 TSS architectures) and per-architecture files present."""
    from ..spaces.nb201 import _check_meta, _read_bz2_pickle

    meta = path / "meta.pickle.pbz2"
    if not meta.is_file():
        raise DataError(f"{path.name}: no meta.pickle.pbz2")
    _check_meta(_read_bz2_pickle(meta), meta)
    if not any(p.name[:1].isdigit() for p in path.glob("*.pickle.pbz2")):
        raise DataError(f"{path.name}: no per-architecture NNNNNN.pickle.pbz2 files")


def check_nb301_training(path: Path) -> None:
    """results_*.json present; the first one read by zcbench's NB301 training-data reader."""
    from ..spaces.nb301 import read_text, training_record

    if not path.is_dir():
        raise DataError(f"{path.name}: expected a folder")
    first = min(path.rglob("results_*.json"), default=None, key=lambda p: p.as_posix())
    if first is None:
        raise DataError(f"{path.name}: holds no NB301 results_*.json files")
    try:
        obj = json.loads(read_text(first))
    except json.JSONDecodeError as err:
        raise DataError(f"{first.name}: not valid JSON ({err})") from None
    training_record(obj, first, 0)


def check_taskonomy_domain(path: Path) -> None:
    """A Taskonomy domain folder: files named *_domain_<folder>.png/.npy; the first one opens."""
    import numpy as np

    if not path.is_dir():
        raise DataError(f"{path.name}: expected a folder")
    domain = path.name
    first = min(path.glob(f"*_domain_{domain}.*"), default=None, key=lambda p: p.name)
    if first is None:
        raise DataError(f"{path.name}: no *_domain_{domain}.* files")
    if first.suffix == ".npy":
        np.load(first, allow_pickle=False)
    elif _head(first, 8) != b"\x89PNG\r\n\x1a\n":
        raise DataError(f"{first.name}: not a PNG file")


def check_npy(path: Path) -> None:
    """Loads as a numpy array (no pickle allowed)."""
    import numpy as np

    _file(path)
    np.load(path, allow_pickle=False)


def check_none(path: Path) -> None:
    """No structure check (checksum only)."""
    if not path.exists():
        raise DataError(f"{path.name}: missing")


CHECKS: dict[str, Callable[[Path], None]] = {
    "torch-pth": _wrap(check_torch_pth),
    "bz2-pickle": _wrap(check_bz2_pickle),
    "pickle": _wrap(check_pickle),
    "tfrecord": _wrap(check_tfrecord),
    "suite-zero-json": _wrap(check_suite_zero_json),
    "swap-csv": _wrap(check_swap_csv),
    "cifar10": _wrap(check_cifar10),
    "cifar100": _wrap(check_cifar100),
    "imagenet16-batch": _wrap(check_imagenet16_batch),
    "nats-simple": _wrap(check_nats_simple),
    "nb301-training": _wrap(check_nb301_training),
    "taskonomy-domain": _wrap(check_taskonomy_domain),
    "npy": _wrap(check_npy),
    "none": _wrap(check_none),
}


def describe_check(name: str) -> str:
    """The check's one-line docstring (for --list and the docs)."""
    doc = CHECKS[name].__doc__ or ""
    return " ".join(doc.split()).rstrip(".")


# -- hashing ------------------------------------------------------------------------------------


def file_digest(path: Path, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def walk_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``, sorted by relative path (stable digests)."""
    found = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            found.append(Path(dirpath) / n)
    return iter(sorted(found, key=lambda p: p.relative_to(root).as_posix()))


def tree_stats(root: Path) -> dict:
    """Cheap fingerprint of a folder: file count, total bytes, newest mtime (no reading)."""
    files = bytes_ = newest = 0
    for p in walk_files(root):
        st = p.stat()
        files += 1
        bytes_ += st.st_size
        newest = max(newest, st.st_mtime_ns)
    return {"files": files, "bytes": bytes_, "mtime_ns": newest}


def tree_digest(root: Path) -> str:
    """SHA-256 over the sorted (relative path, size, SHA-256) lines of every file in ``root``."""
    h = hashlib.sha256()
    for p in walk_files(root):
        h.update(f"{p.relative_to(root).as_posix()}\0{p.stat().st_size}\0{file_digest(p)}\n".encode())
    return h.hexdigest()
