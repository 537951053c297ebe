"""TFRecord framing, without TensorFlow (FORMATS.md §2.2; TensorFlow's "TFRecords Format Details").

Each record is ``u64 length | u32 masked_crc32c(length) | data | u32 masked_crc32c(data)``, all
little-endian, with CRC-32C (Castagnoli). Nothing here knows what the payloads mean, so it reads
any TFRecord file. CRCs are verified for every record, vectorised over a block of records with
numpy (a pure Python byte loop would need minutes for NAS-Bench-101's 499 MB file); a bad CRC or
a truncated file raises DumpError naming the 0-based record number and its byte offset.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import DumpError

# --------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, init/xorout 0xFFFFFFFF.
# --------------------------------------------------------------------------------------------


def _make_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[i] = c
    return table


_CRC_TABLE = _make_table()
_CRC_LIST = _CRC_TABLE.tolist()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (pure Python; for single values and tests)."""
    c = 0xFFFFFFFF
    t = _CRC_LIST
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(c: int | np.ndarray) -> int | np.ndarray:
    """TFRecord's CRC mask: rotate right by 15 and add a constant (mod 2**32)."""
    if isinstance(c, np.ndarray):
        c = c.astype(np.uint64)
        return ((((c >> np.uint64(15)) | (c << np.uint64(17))) + np.uint64(0xA282EAD8)) & np.uint64(0xFFFFFFFF)).astype(
            np.uint32
        )
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def crc32c_many(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-32C of many byte ranges of ``buf`` at once.

    The ranges are sorted by length (longest first) and laid out as columns of a padded
    ``(max_len, n)`` matrix; one table step per byte position then updates every range that is
    still active (a prefix of the sorted order), so the Python loop runs ``max_len`` times, not
    ``sum(lengths)`` times."""
    n = len(starts)
    out = np.empty(n, dtype=np.uint32)
    if n == 0:
        return out
    order = np.argsort(-lengths, kind="stable")
    s_sorted = starts[order]
    l_sorted = lengths[order]
    max_len = int(l_sorted[0])
    mat = np.zeros((n, max_len), dtype=np.uint8)
    for i in range(n):  # one slice copy per range; cheap next to the byte loop below
        s, ln = int(s_sorted[i]), int(l_sorted[i])
        mat[i, :ln] = buf[s : s + ln]
    cols = np.ascontiguousarray(mat.T)
    # active[j] = how many ranges are longer than j (a prefix, since l_sorted is descending)
    active = np.searchsorted(-l_sorted, -np.arange(max_len), side="left")
    c = np.full(n, 0xFFFFFFFF, dtype=np.uint32)
    table = _CRC_TABLE
    mask = np.uint32(0xFF)
    eight = np.uint32(8)
    for j in range(max_len):
        k = int(active[j])
        cj = c[:k]
        c[:k] = table[(cj ^ cols[j, :k]) & mask] ^ (cj >> eight)
    out[order] = c ^ np.uint32(0xFFFFFFFF)
    return out


# --------------------------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------------------------

_BLOCK = 16 << 20  # bytes read per step; NB101 records are ~1 KB, so a block holds ~15k of them


def iter_tfrecord_blocks(path: Path, check_crc: bool = True) -> Iterator[tuple[int, list[bytes]]]:
    """Yield ``(first_record_number, payloads)`` blocks of a TFRecord file, CRCs verified.

    Raises DumpError for a truncated file or a CRC mismatch, naming the 0-based record number
    and its byte offset."""
    with open(path, "rb") as fh:
        carry = b""
        carry_off = 0  # file offset of carry[0]
        rec_no = 0
        while True:
            chunk = fh.read(_BLOCK)
            buf = carry + chunk
            if not buf:
                return
            pos = 0
            n_buf = len(buf)
            offs: list[int] = []
            lens: list[int] = []
            unpack = struct.unpack_from
            while n_buf - pos >= 12:
                (length,) = unpack("<Q", buf, pos)
                end = pos + 16 + length
                if end > n_buf:
                    # Before trusting a length that reaches past this block (and waiting for more
                    # bytes), check its CRC: a corrupt length must not make us buffer the file.
                    if check_crc:
                        (want,) = unpack("<I", buf, pos + 8)
                        if masked_crc(crc32c(buf[pos : pos + 8])) != want:
                            if offs:  # an earlier bad length may have misaligned us: report it first
                                _check_block(path, buf, offs, lens, rec_no, carry_off, check_crc)
                            raise DumpError(
                                f"{path}: record {rec_no + len(offs)} (byte {carry_off + pos}): length CRC mismatch, "
                                "the TFRecord file is corrupt"
                            )
                    break
                offs.append(pos)
                lens.append(length)
                pos = end
            if offs:
                yield rec_no, _check_block(path, buf, offs, lens, rec_no, carry_off, check_crc)
                rec_no += len(offs)
            carry = buf[pos:]
            carry_off += pos
            if not chunk:  # end of file: whatever is left is an incomplete record
                if carry:
                    raise DumpError(
                        f"{path}: truncated TFRecord file (record {rec_no} at byte {carry_off} is incomplete)"
                    )
                return


def _check_block(
    path: Path, buf: bytes, offs: list[int], lens: list[int], first: int, base_off: int, check_crc: bool
) -> list[bytes]:
    """Verify the two masked CRCs of every record in ``buf`` and return the payloads."""
    o = np.asarray(offs, dtype=np.int64)
    ln = np.asarray(lens, dtype=np.int64)
    if check_crc:
        arr = np.frombuffer(buf, dtype=np.uint8)
        hdr_idx = o[:, None] + np.arange(12)[None, :]
        hdr = arr[hdr_idx]
        want_len_crc = hdr[:, 8:12].copy().view("<u4").ravel()
        got_len_crc = masked_crc(crc32c_many(arr, o, np.full(len(o), 8, dtype=np.int64)))
        tail = (o + 12 + ln)[:, None] + np.arange(4)[None, :]
        want_data_crc = arr[tail].copy().view("<u4").ravel()
        got_data_crc = masked_crc(crc32c_many(arr, o + 12, ln))
        bad = np.flatnonzero((want_len_crc != got_len_crc) | (want_data_crc != got_data_crc))
        if bad.size:
            i = int(bad[0])
            what = "length" if want_len_crc[i] != got_len_crc[i] else "data"
            raise DumpError(
                f"{path}: record {first + i} (byte {base_off + offs[i]}): {what} CRC mismatch, "
                "the TFRecord file is corrupt"
            )
    return [buf[p + 12 : p + 12 + n] for p, n in zip(offs, lens)]


def write_tfrecord(fh: IO[bytes], payloads: list[bytes]) -> None:
    """Write ``payloads`` with standard TFRecord framing (used by fixtures and tools)."""
    for data in payloads:
        head = struct.pack("<Q", len(data))
        fh.write(
            head + struct.pack("<I", masked_crc(crc32c(head))) + data + struct.pack("<I", masked_crc(crc32c(data)))
        )
