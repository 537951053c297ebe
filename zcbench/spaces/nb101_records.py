"""Reading NAS-Bench-101 dumps without TensorFlow or protobuf (FORMATS.md §2.2, §2.3, §2.6).

Three layers, each small enough to check by hand:

* TFRecord framing: ``u64 length | u32 masked_crc32c(length) | data | u32 masked_crc32c(data)``.
  CRCs are verified for every record, vectorised over a block of records with numpy (a pure
  Python byte loop would need minutes for the 499 MB file); a bad CRC names the record number.
* The payload: a UTF-8 JSON list ``[hash, epochs, adjacency, ops, base64(ModelMetrics)]``.
* ``ModelMetrics``: a proto2 message decoded from its wire format with a ~40-line decoder.

The result is an :class:`NB101Table` (unique graphs + one row per training run). Converting the
423k-graph file once takes a while, so the table is cached as HDF5 next to the dump (or under
``$ZCBENCH_CACHE``) and keyed by the dump's size and mtime.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import DumpError
from ..safe_pickle import safe_load
from .dumpcache import CACHE_SUFFIX, load_cached  # noqa: F401 (CACHE_SUFFIX: where the cache lives)

# Interior op names in the official ``available_ops`` order (their index is the hash label).
AVAILABLE_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
# Codes used in the table's ``ops`` array: input/output get their hash labels, padding is -3.
OP_CODES: dict[str, int] = {"input": -1, "output": -2, **{op: i for i, op in enumerate(AVAILABLE_OPS)}}
CODE_OPS: dict[int, str] = {v: k for k, v in OP_CODES.items()}
PAD = -3
MAX_V = 7

# How many tfrecord files were parsed in this process (tests use it to prove the cache is used).
PARSE_COUNT = {"tfrecord": 0, "pickle": 0}

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
# TFRecord framing
# --------------------------------------------------------------------------------------------

_BLOCK = 16 << 20  # bytes read per step; records are ~1 KB, so a block holds ~15k of them


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


# --------------------------------------------------------------------------------------------
# ModelMetrics protobuf (proto2) wire-format decoder
# --------------------------------------------------------------------------------------------
# Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. A key is varint(field << 3 | type).
#   ModelMetrics   1: EvaluationData (repeated, LEN)   2: trainable_parameters (int32, VARINT)
#                  3: total_time (double, I64)
#   EvaluationData 1..5: current_epoch, training_time, train_accuracy, validation_accuracy,
#                  test_accuracy (double, I64)   6: checkpoint_path (string, LEN)

EVAL_FIELDS = {
    1: "current_epoch",
    2: "training_time",
    3: "train_accuracy",
    4: "validation_accuracy",
    5: "test_accuracy",
}
_unpack_d = struct.Struct("<d").unpack_from


def _varint(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = b[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def _fields(b: bytes) -> Iterator[tuple[int, int, object]]:
    """Yield ``(field_number, wire_type, value)``; LEN values are ``bytes``, I64 raw ``bytes``."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(b, i)
        elif wt == 1:
            val, i = b[i : i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(b, i)
            val, i = b[i : i + ln], i + ln
        elif wt == 5:
            val, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        if i > n:
            raise ValueError("message ends inside a field")
        yield field, wt, val


_FIVE_DOUBLES = struct.Struct("<xdxdxdxdxd")  # keys 0x09,0x11,0x19,0x21,0x29 each before a double


def _eval_values(b: bytes, start: int, end: int) -> tuple[float, float, float, float]:
    """(training_time, train_accuracy, validation_accuracy, test_accuracy) of the EvaluationData
    at ``b[start:end]``. Fast path: fields 1..5 written in order as 1-byte key + double (what
    protobuf serialisers emit), read with one ``struct`` call; otherwise the generic loop."""
    if (
        end - start >= 45
        and b[start] == 0x09
        and b[start + 9] == 0x11
        and b[start + 18] == 0x19
        and b[start + 27] == 0x21
        and b[start + 36] == 0x29
    ):
        return _FIVE_DOUBLES.unpack_from(b, start)[1:]
    ev = decode_eval(b[start:end])
    nan = float("nan")
    return tuple(ev.get(k, nan) for k in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"))


def run_values(b: bytes) -> tuple[int, tuple[float, ...]]:
    """``(trainable_parameters, values in RUN_FIELDS order)`` straight from a serialized
    ModelMetrics, without building dicts (the hot loop of a 1.3M-record conversion)."""
    spans: list[tuple[int, int]] = []
    params = -1
    i, n = 0, len(b)
    while i < n:
        key = b[i]
        if key < 0x80:  # every ModelMetrics key fits in one byte; lengths mostly too
            i += 1
        else:
            key, i = _varint(b, i)
        wt = key & 7
        if wt == 2:
            ln = b[i]
            if ln < 0x80:
                i += 1
            else:
                ln, i = _varint(b, i)
            if key >> 3 == 1:
                spans.append((i, i + ln))
            i += ln
        elif wt == 0:
            val, i = _varint(b, i)
            if key >> 3 == 2:
                params = val - (1 << 64) if val >= 1 << 63 else val
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
    if i > n:
        raise ValueError("message ends inside a field")
    if len(spans) < 3:
        raise IndexError("ModelMetrics has fewer than 3 evaluations")
    h_time, h_train, h_val, h_test = _eval_values(b, *spans[1])
    f_time, f_train, f_val, f_test = _eval_values(b, *spans[2])
    return params, (f_val, f_test, f_train, f_time, h_val, h_test)


def decode_eval(b: bytes) -> dict:
    """Decode one ``EvaluationData`` (all fields, any order; unknown fields skipped)."""
    out: dict = {}
    for field, wt, val in _fields(b):
        if wt == 1 and field in EVAL_FIELDS:
            out[EVAL_FIELDS[field]] = _unpack_d(val)[0]  # type: ignore[arg-type]
        elif field == 6 and wt == 2:
            out["checkpoint_path"] = val.decode("utf-8", "replace")  # type: ignore[union-attr]
    return out


def decode_model_metrics(b: bytes) -> dict:
    """Decode a serialized ``nasbench.ModelMetrics`` into plain Python values."""
    evals: list[dict] = []
    out: dict = {"evaluation_data": evals}
    for field, wt, val in _fields(b):
        if field == 1 and wt == 2:
            evals.append(decode_eval(val))  # type: ignore[arg-type]
        elif field == 2 and wt == 0:
            v = int(val)  # type: ignore[call-overload]
            out["trainable_parameters"] = v - (1 << 64) if v >= 1 << 63 else v
        elif field == 3 and wt == 1:
            out["total_time"] = _unpack_d(val)[0]  # type: ignore[arg-type]
    return out


# --------------------------------------------------------------------------------------------
# The table: unique graphs (file order of first appearance) + one row per training run
# --------------------------------------------------------------------------------------------

# Per-run values kept in the table (``_run_metrics`` fills them in this order): evaluation_data[2]
# is the end of training ("final_*"), evaluation_data[1] the halfway point (official api.py).
RUN_FIELDS: tuple[str, ...] = (
    "final_validation_accuracy",
    "final_test_accuracy",
    "final_train_accuracy",
    "final_training_time",
    "halfway_validation_accuracy",
    "halfway_test_accuracy",
)


@dataclass
class NB101Table:
    """Everything zcbench needs from a NAS-Bench-101 dump, as flat numpy arrays.

    ``U`` unique graphs in the order the dump first names them (the official API's
    ``hash_iterator()`` order) and ``R`` training runs (3 repeats per graph and epoch budget)."""

    hashes: np.ndarray  # (U,) S32 module hashes
    adj: np.ndarray  # (U, 7, 7) uint8, zero-padded adjacency
    nv: np.ndarray  # (U,) int8 number of vertices
    ops: np.ndarray  # (U, 7) int8 op codes (OP_CODES; PAD beyond nv)
    params: np.ndarray  # (U,) int64 trainable_parameters
    run_graph: np.ndarray  # (R,) int32 index into the unique arrays
    run_epochs: np.ndarray  # (R,) int16 epoch budget of the run
    run_metrics: np.ndarray  # (R, len(RUN_FIELDS)) float64, accuracies as fractions

    def __len__(self) -> int:
        return len(self.hashes)

    def spec(self, i: int) -> tuple[list[list[int]], list[str]]:
        """(matrix, ops) of unique graph ``i`` as plain lists."""
        v = int(self.nv[i])
        return self.adj[i, :v, :v].tolist(), [CODE_OPS[int(c)] for c in self.ops[i, :v]]

    def epochs(self) -> list[int]:
        return sorted(int(e) for e in np.unique(self.run_epochs))

    def averaged(self, epochs: int, fields: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Graph indices (ascending) that have runs at ``epochs`` and the mean of ``fields``
        over their repeats, shape ``(n, len(fields))``."""
        sel = self.run_epochs == epochs
        g = self.run_graph[sel]
        cols = [RUN_FIELDS.index(f) for f in fields]
        vals = self.run_metrics[sel][:, cols]
        idx, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
        sums = np.zeros((len(idx), len(cols)), dtype=np.float64)
        np.add.at(sums, inverse, vals)
        return idx, sums / counts[:, None]


class _TableBuilder:
    """Accumulates rows; a graph's fixed data is taken from its first row (as the official API)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.hashes: list[str] = []
        self.adj: list[np.ndarray] = []
        self.nv: list[int] = []
        self.ops: list[list[int]] = []
        self.params: list[int] = []
        self.run_graph: list[int] = []
        self.run_epochs: list[int] = []
        self.run_metrics: list[tuple[float, ...]] = []

    def add_graph(self, where: str, module_hash: str, matrix: np.ndarray, ops: list[str], params: int) -> int:
        if not (isinstance(module_hash, str) and len(module_hash) == 32):
            raise DumpError(f"{where}: module hash {module_hash!r} is not 32 hex digits")
        v = matrix.shape[0]
        if matrix.shape != (v, v) or not 2 <= v <= MAX_V or len(ops) != v:
            raise DumpError(f"{where}: adjacency of shape {matrix.shape} with {len(ops)} ops is not a NB101 graph")
        padded = np.zeros((MAX_V, MAX_V), dtype=np.uint8)
        padded[:v, :v] = matrix
        try:
            codes = [OP_CODES[o] for o in ops] + [PAD] * (MAX_V - v)
        except KeyError as err:
            raise DumpError(f"{where}: unknown operation {err.args[0]!r}") from None
        i = len(self.hashes)
        self.index[module_hash] = i
        self.hashes.append(module_hash)
        self.adj.append(padded)
        self.nv.append(v)
        self.ops.append(codes)
        self.params.append(int(params))
        return i

    def add_run(self, graph: int, epochs: int, metrics: tuple[float, ...]) -> None:
        self.run_graph.append(graph)
        self.run_epochs.append(int(epochs))
        self.run_metrics.append(metrics)

    def build(self, source: str) -> NB101Table:
        if not self.hashes:
            raise DumpError(f"{source}: no NAS-Bench-101 records")
        return NB101Table(
            hashes=np.array(self.hashes, dtype="S32"),
            adj=np.stack(self.adj),
            nv=np.array(self.nv, dtype=np.int8),
            ops=np.array(self.ops, dtype=np.int8),
            params=np.array(self.params, dtype=np.int64),
            run_graph=np.array(self.run_graph, dtype=np.int32),
            run_epochs=np.array(self.run_epochs, dtype=np.int16),
            run_metrics=np.array(self.run_metrics, dtype=np.float64).reshape(-1, len(RUN_FIELDS)),
        )


def read_tfrecord_table(path: Path, check_crc: bool = True) -> NB101Table:
    """Parse an official ``nasbench_*.tfrecord`` into a table (minutes for the real files)."""
    PARSE_COUNT["tfrecord"] += 1
    b = _TableBuilder()
    index = b.index
    loads, b64 = json.JSONDecoder().decode, base64.b64decode
    for first, payloads in iter_tfrecord_blocks(path, check_crc):
        for k, data in enumerate(payloads):
            rec = first + k
            try:
                module_hash, epochs, raw_adj, raw_ops, raw_metrics = loads(data.decode("utf-8"))
                params, run = run_values(b64(raw_metrics))
            except (ValueError, TypeError, KeyError, IndexError, AttributeError, struct.error, binascii.Error) as err:
                raise DumpError(
                    f"{path}: record {rec} is not a NAS-Bench-101 row [hash, epochs, adjacency, ops, metrics] "
                    f"({type(err).__name__})"
                ) from None
            g = index.get(module_hash)
            if g is None:
                dim = int(round(len(raw_adj) ** 0.5))
                raw = raw_adj.encode("ascii", "replace")
                if dim * dim != len(raw) or raw.strip(b"01"):
                    raise DumpError(f"{path}: record {rec}: adjacency {raw_adj!r} is not a square 0/1 string")
                matrix = (np.frombuffer(raw, dtype=np.uint8) - 48).reshape(dim, dim)
                g = b.add_graph(f"{path}: record {rec}", module_hash, matrix, raw_ops.split(","), params)
            b.add_run(g, epochs, run)
    return b.build(str(path))


def read_naslib_pickle_table(path: Path) -> NB101Table:
    """Parse NASLib's ``nasbench_only108.pkl`` (``{hash: (fixed_stats, computed_stats)}``)
    through the allow-listed unpickler."""
    PARSE_COUNT["pickle"] += 1
    with open(path, "rb") as fh:
        data = safe_load(fh, source=str(path))
    if not isinstance(data, dict):
        raise DumpError(f"{path}: expected a dict {{hash: (fixed, computed)}}, got {type(data).__name__}")
    b = _TableBuilder()
    for module_hash, entry in data.items():
        where = f"{path}: entry {module_hash!r}"
        try:
            fixed, computed = entry
            matrix = np.asarray(fixed["module_adjacency"], dtype=np.uint8)
            ops = list(fixed["module_operations"])
            params = int(fixed["trainable_parameters"])
            g = b.add_graph(where, module_hash, matrix, ops, params)
            for epochs, runs in computed.items():
                for run in runs:
                    b.add_run(g, int(epochs), tuple(float(run[name]) for name in RUN_FIELDS))
        except DumpError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise DumpError(
                f"{where} is not (fixed_stats, computed_stats) of NAS-Bench-101 ({type(err).__name__}: {err})"
            ) from None
    return b.build(str(path))


def is_pickle(path: Path) -> bool:
    """A NASLib pickle (by suffix, or a PROTO opcode where no valid TFRecord header is)."""
    if path.suffix.lower() in (".pkl", ".pickle"):
        return True
    with open(path, "rb") as fh:
        head = fh.read(12)
    if len(head) == 12 and masked_crc(crc32c(head[:8])) == struct.unpack("<I", head[8:])[0]:
        return False
    return head[:1] == b"\x80" and 2 <= head[1:2][0] <= 5 if len(head) > 1 else False


# --------------------------------------------------------------------------------------------
# HDF5 cache
# --------------------------------------------------------------------------------------------

CACHE_VERSION = 1
_ARRAYS = ("hashes", "adj", "nv", "ops", "params", "run_graph", "run_epochs", "run_metrics")


def load_table(path: str | Path, use_cache: bool = True) -> NB101Table:
    """The table of a tfrecord or NASLib pickle dump, from the HDF5 cache when it is current."""
    path = Path(path)
    if not path.is_file():
        raise DumpError(f"{path}: no such file")

    def build() -> dict[str, np.ndarray]:
        table = read_naslib_pickle_table(path) if is_pickle(path) else read_tfrecord_table(path)
        return {name: getattr(table, name) for name in _ARRAYS}

    arrays = load_cached(path, "nb101-table", CACHE_VERSION, build, use_cache)
    return NB101Table(**{name: arrays[name] for name in _ARRAYS})
