"""The NAS-Bench-101 table zcbench reads: unique graphs plus one row per training run, cached as HDF5.

What the official API builds in ``nasbench/api.py`` (``fixed_statistics`` per module hash,
``computed_statistics`` per epoch budget and repeat), as flat numpy arrays, read from either
source format:

* the official ``nasbench_*.tfrecord`` (FORMATS.md §2.2 framing in ``tfrecord``, §2.3 payload
  in ``nb101_metrics``);
* NASLib's ``nasbench_only108.pkl`` ``{hash: (fixed_stats, computed_stats)}`` (FORMATS.md §2.6),
  through the allow-listed unpickler.

Converting the 423k-graph file once takes a while (with a progress bar), so the table is cached as
HDF5 in the cache folder (``$ZCBENCH_CACHE``, else the user cache folder) and keyed by the dump's size and
mtime (``dumpcache``); a cached load reads only that.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DumpError
from ..progress import bar, track
from ..safe_pickle import safe_load
from .dumpcache import load_cached
from .nb101_metrics import PAYLOAD_ERRORS, RUN_FIELDS, adjacency_matrix, decode_payload
from .tfrecord import crc32c, iter_tfrecord_blocks, masked_crc

# Interior op names in the official ``available_ops`` order (their index is the hash label).
AVAILABLE_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
# Codes used in the table's ``ops`` array: input/output get their hash labels, padding is -3.
OP_CODES: dict[str, int] = {"input": -1, "output": -2, **{op: i for i, op in enumerate(AVAILABLE_OPS)}}
CODE_OPS: dict[int, str] = {v: k for k, v in OP_CODES.items()}
PAD = -3
MAX_V = 7

# --------------------------------------------------------------------------------------------
# The table: unique graphs (file order of first appearance) + one row per training run
# --------------------------------------------------------------------------------------------


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
    """Parse an official ``nasbench_*.tfrecord`` into a table (minutes for the real files, so
    with a progress bar in bytes)."""
    b = _TableBuilder()
    index = b.index
    with bar(total=path.stat().st_size, desc=f"parsing {path.name}", unit="B", unit_scale=True) as progress:
        for first, payloads in iter_tfrecord_blocks(path, check_crc):
            for k, data in enumerate(payloads):
                rec = first + k
                try:
                    module_hash, epochs, raw_adj, raw_ops, params, run = decode_payload(data)
                except PAYLOAD_ERRORS as err:
                    raise DumpError(
                        f"{path}: record {rec} is not a NAS-Bench-101 row [hash, epochs, adjacency, ops, metrics] "
                        f"({type(err).__name__})"
                    ) from None
                g = index.get(module_hash)
                if g is None:
                    try:
                        matrix = adjacency_matrix(raw_adj)
                    except ValueError as err:
                        raise DumpError(f"{path}: record {rec}: {err}") from None
                    g = b.add_graph(f"{path}: record {rec}", module_hash, matrix, raw_ops.split(","), params)
                b.add_run(g, epochs, run)
            progress.update(sum(map(len, payloads)) + 16 * len(payloads))  # the framing adds 16 bytes a record
    return b.build(str(path))


def read_naslib_pickle_table(path: Path) -> NB101Table:
    """Parse NASLib's ``nasbench_only108.pkl`` (``{hash: (fixed_stats, computed_stats)}``)
    through the allow-listed unpickler; the conversion loop has a progress bar in graphs."""
    with open(path, "rb") as fh:
        data = safe_load(fh, source=str(path))
    if not isinstance(data, dict):
        raise DumpError(f"{path}: expected a dict {{hash: (fixed, computed)}}, got {type(data).__name__}")
    b = _TableBuilder()
    for module_hash, entry in track(data.items(), desc=f"converting {path.name}", unit="graph"):
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
