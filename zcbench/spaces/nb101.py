"""NAS-Bench-101: cell specs, the official pruning and graph hash, dump loading, the network.

An architecture is a module spec ``{"matrix": V×V upper-triangular 0/1, "ops": [...]}``. Like the
official ``ModelSpec``, ``parse`` prunes vertices that are not on an input→output path and then
checks the search-space limits (≤ 7 vertices, ≤ 9 edges, interior ops among the three allowed).
The canonical string is the pruned spec as compact JSON. Isomorphic specs share one module hash
(``module_hash``, identical to ``nasbench.lib.graph_util.hash_module``); when a dump is loaded,
``parse`` maps a spec (or a 32-hex hash, or an index) to the dump's stored representative of that
hash, so that user specs join the dump's records whatever vertex order they were written in.
Dumps: ``nasbench_only108.tfrecord``, ``nasbench_full.tfrecord`` and NASLib's
``nasbench_only108.pkl`` (see ``nb101_table``).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
from torch import nn

from ..data.spec import InputSpec
from ..errors import ArchError, DumpError, UsageError
from . import register_space
from .base import Benchmark, Record, Space
from .nb101_model import Network101, port_init
from .nb101_table import AVAILABLE_OPS, NB101Table, load_table

MAX_VERTICES = 7
MAX_EDGES = 9
NUM_CLASSES = 10
# nasbench/lib/cifar.py: per-channel pixel mean/std, here for [0,1] images.
MEAN = (125.31 / 255, 122.95 / 255, 113.87 / 255)
STD = (62.99 / 255, 62.09 / 255, 66.70 / 255)
_HASH_RE = re.compile(r"^[0-9a-f]{32}$")

Spec = tuple[list[list[int]], list[str]]


# -- specs ---------------------------------------------------------------------------------------


def prune(matrix: list[list[int]], ops: list[str]) -> Spec | None:
    """``ModelSpec._prune``: keep the vertices reachable from the input *and* reaching the output.
    Returns None when input and output are not connected (the official ``valid_spec=False``)."""
    v = len(matrix)
    fwd, stack = {0}, [0]
    while stack:
        top = stack.pop()
        for w in range(top + 1, v):
            if matrix[top][w] and w not in fwd:
                fwd.add(w)
                stack.append(w)
    bwd, stack = {v - 1}, [v - 1]
    while stack:
        top = stack.pop()
        for w in range(top):
            if matrix[w][top] and w not in bwd:
                bwd.add(w)
                stack.append(w)
    keep = sorted(fwd & bwd)
    if len(keep) < 2:  # same as the official "len(extraneous) > num_vertices - 2"
        return None
    return [[matrix[a][b] for b in keep] for a in keep], [ops[a] for a in keep]


def _hash_pruned(matrix: list[list[int]], ops: list[str]) -> str:
    """``graph_util.hash_module`` of an already pruned spec (labels: input -1, output -2,
    interior = index in ``available_ops``). The ``str()`` of tuples/lists is reproduced exactly."""
    v = len(matrix)
    labels = [-1] + [AVAILABLE_OPS.index(op) for op in ops[1:-1]] + [-2]
    in_deg = [sum(matrix[s][t] for s in range(v)) for t in range(v)]
    out_deg = [sum(matrix[s]) for s in range(v)]
    md5 = hashlib.md5
    hashes = [md5(str((out_deg[i], in_deg[i], labels[i])).encode("utf-8")).hexdigest() for i in range(v)]
    ins = [[s for s in range(v) if matrix[s][t]] for t in range(v)]
    outs = [[t for t in range(v) if matrix[s][t]] for s in range(v)]
    for _ in range(v):
        hashes = [
            md5(
                (
                    "".join(sorted(hashes[w] for w in ins[i]))
                    + "|"
                    + "".join(sorted(hashes[w] for w in outs[i]))
                    + "|"
                    + hashes[i]
                ).encode("utf-8")
            ).hexdigest()
            for i in range(v)
        ]
    return md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def _matrix_rows(matrix: object, ops: object) -> list[list[int]]:
    """The adjacency matrix as 0/1 rows, checked: square, at least 2 vertices, one op each, upper-triangular."""
    if not isinstance(matrix, (list, tuple, np.ndarray)) or not isinstance(ops, (list, tuple)):
        raise ArchError("NB101 spec needs 'matrix' (list of rows) and 'ops' (list of names)")
    m = np.asarray(matrix, dtype=object)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ArchError(f"NB101 matrix must be square, got shape {tuple(m.shape)}")
    v = m.shape[0]
    if v < 2:
        raise ArchError("NB101 matrix needs at least the input and output vertices")
    if len(ops) != v:
        raise ArchError(f"NB101 spec has a {v}x{v} matrix but {len(ops)} ops")
    rows: list[list[int]] = []
    for i in range(v):
        row = []
        for j in range(v):
            x = m[i, j]
            if not (isinstance(x, (bool, np.bool_)) or (isinstance(x, (int, np.integer)) and x in (0, 1))):
                raise ArchError(f"NB101 matrix entries must be 0 or 1, got {x!r} at [{i}][{j}]")
            if j <= i and x:
                raise ArchError(f"NB101 matrix must be upper-triangular (edge {i}->{j} points backwards)")
            row.append(int(x))
        rows.append(row)
    return rows


def validate_spec(matrix: object, ops: object) -> Spec:
    """Check and prune a spec as the official API (``ModelSpec`` + ``_check_spec``) does.

    Stricter in one way: every interior op, including those of pruned vertices, must be one of
    the three allowed names (a typo anywhere is reported). Raises ArchError."""
    rows = _matrix_rows(matrix, ops)
    names = [str(o) for o in ops]
    if names[0] != "input" or names[-1] != "output":
        raise ArchError("NB101 ops must start with 'input' and end with 'output'")
    for op in names[1:-1]:
        if op not in AVAILABLE_OPS:
            raise ArchError(f"unknown NB101 op {op!r} (allowed: {', '.join(AVAILABLE_OPS)})")
    pruned = prune(rows, names)
    if pruned is None:
        raise ArchError("invalid NB101 spec: the input is not connected to the output")
    pm, pops = pruned
    if len(pops) > MAX_VERTICES:
        raise ArchError(f"NB101 spec has {len(pops)} vertices after pruning (max {MAX_VERTICES})")
    edges = sum(map(sum, pm))
    if edges > MAX_EDGES:
        raise ArchError(f"NB101 spec has {edges} edges after pruning (max {MAX_EDGES})")
    return pm, pops


def module_hash(matrix: object, ops: object) -> str:
    """The official NB101 module hash of a spec (pruned first, as ``ModelSpec.hash_spec``)."""
    pm, pops = validate_spec(matrix, ops)
    return _hash_pruned(pm, pops)


def spec_string(matrix: list[list[int]], ops: list[str]) -> str:
    """Canonical string of a pruned spec: compact JSON."""
    return json.dumps({"matrix": matrix, "ops": ops}, separators=(",", ":"))


def table_spec_strings(table: NB101Table) -> list[str]:
    """``spec_string`` of every graph of a dump table. 423k ``json.dumps`` calls would take
    ~10 s; instead each distinct matrix and each distinct op list is formatted once and the
    pieces are joined (equality with ``spec_string`` is tested)."""
    u = len(table)
    packed = np.zeros((u, 8), dtype=np.uint8)
    packed[:, :7] = np.packbits(table.adj.reshape(u, -1), axis=1)
    packed[:, 7] = table.nv
    mat_keys, mat_inv = np.unique(packed.view(np.uint64).ravel(), return_inverse=True)
    op_keys, op_inv = np.unique(
        np.ascontiguousarray(table.ops).view(np.uint8).reshape(u, 7), axis=0, return_inverse=True
    )
    first_m = np.zeros(len(mat_keys), dtype=np.int64)
    first_m[mat_inv.ravel()[::-1]] = np.arange(u)[::-1]  # a graph using each distinct matrix
    first_o = np.zeros(len(op_keys), dtype=np.int64)
    first_o[op_inv.ravel()[::-1]] = np.arange(u)[::-1]
    compact = {"separators": (",", ":")}
    m_str = [json.dumps(table.spec(int(i))[0], **compact) for i in first_m]
    o_str = [json.dumps(table.spec(int(i))[1], **compact) for i in first_o]
    return [
        '{"matrix":' + m_str[a] + ',"ops":' + o_str[b] + "}"
        for a, b in zip(mat_inv.ravel().tolist(), op_inv.ravel().tolist())
    ]


def spec_from_string(text: str) -> Spec:
    """(matrix, ops) of a spec written as JSON (no validation)."""
    try:
        obj = json.loads(text)
    except ValueError:
        raise ArchError(f"NB101 architecture must be a JSON spec or a 32-hex module hash, got {text[:60]!r}") from None
    if not isinstance(obj, dict) or "matrix" not in obj or "ops" not in obj:
        raise ArchError('NB101 JSON spec must be an object {"matrix": [[...]], "ops": [...]}')
    return obj["matrix"], obj["ops"]


# -- the space -----------------------------------------------------------------------------------


@register_space
class NB101(Space):
    name = "nb101"
    description = "NAS-Bench-101: 423,624 cells of up to 7 vertices and 9 edges, 3 ops (Ying et al., ICML 2019)"
    datasets = ("cifar10",)
    size = 423_624
    default_epochs = 108
    dump_files = ("nasbench_only108.tfrecord", "nasbench_full.tfrecord", "nasbench_only108.pkl")

    def __init__(self) -> None:
        self._table: NB101Table | None = None
        self._specs: list[str] = []  # canonical string of every graph of the loaded dump
        self._by_hash: dict[str, int] = {}
        self._hashes: list[str] = []
        self._by_spec: dict[str, int] = {}

    # architectures
    def parse(self, text: str) -> str:
        s = str(text).strip()
        if _HASH_RE.match(s.lower()):
            if self._table is None:
                raise ArchError(f"NB101 module hash {s} can only be resolved with a dump: give --dump")
            i = self._by_hash.get(s.lower())
            if i is None:
                raise ArchError(f"NB101 module hash {s} is not in the loaded dump")
            return self._specs[i]
        if s.isdigit():
            if self._table is None:
                raise ArchError(f"NB101 architecture index {s} needs the dump's order: give --dump")
            if int(s) >= len(self._specs):
                raise ArchError(f"NB101 architecture index {s} out of range 0..{len(self._specs) - 1}")
            return self._specs[int(s)]
        pm, pops = validate_spec(*spec_from_string(s))
        canonical = spec_string(pm, pops)
        if self._table is not None and canonical not in self._by_spec:
            i = self._by_hash.get(_hash_pruned(pm, pops))
            if i is not None:  # an isomorphic spelling of a graph the dump stores differently
                return self._specs[i]
        return canonical

    def index_of(self, arch: str) -> int | None:
        return self._by_spec.get(arch)

    def from_naslib(self, key: str) -> str:
        """NASLib's encoding (the Suite-Zero keys) → this space's canonical string."""
        return self.parse(naslib_key_to_arch(key))

    def canonical_key(self, arch: str) -> str:
        """The official module hash: strings of one graph may differ in vertex order, its hash does not."""
        return module_hash(*spec_from_string(arch))

    def encode(self, arch: str) -> np.ndarray:
        """The pruned spec placed in a 7-vertex frame (interior vertices first, output last): 21
        upper-triangle edge bits + 5 interior vertices x 3 ops one-hot (the search predictor's features)."""
        matrix, ops = spec_from_string(arch)
        v = len(ops)
        slot = list(range(v - 1)) + [MAX_VERTICES - 1]  # vertex -> position in the 7-vertex frame
        adj = np.zeros((MAX_VERTICES, MAX_VERTICES))
        for a in range(v):
            for b in range(v):
                if matrix[a][b]:
                    adj[slot[a], slot[b]] = 1.0
        onehot = np.zeros((MAX_VERTICES - 2, len(AVAILABLE_OPS)))
        for k in range(1, v - 1):
            onehot[k - 1, AVAILABLE_OPS.index(ops[k])] = 1.0
        return np.concatenate([adj[np.triu_indices(MAX_VERTICES, 1)], onehot.ravel()])

    def neighbours(self, arch: str) -> list[str]:
        """One change away from the pruned spec of ``arch``: the NB101 paper's mutation (flip one
        edge of the upper triangle, or change the op of one interior vertex), plus adding one vertex
        (any op, one edge in from an earlier vertex, one edge out to a later one) and removing one
        interior vertex with its edges. The vertex moves stand in for the dangling vertices that the
        paper's 7-vertex genome keeps but a pruned spec drops: without them a search could never
        reach a larger cell than it started from. Each result is pruned and checked as ``parse``
        does (disconnected, > 7 vertices or > 9 edges: dropped) and deduplicated by module hash, so
        isomorphic results count once and one isomorphic to ``arch`` is dropped. Order: edge flips
        (row-major), op changes, vertex additions, vertex removals."""
        pm, pops = validate_spec(*spec_from_string(self.parse(arch)))
        cands = _edge_flips(pm, pops) + _op_changes(pm, pops) + _vertex_additions(pm, pops) + _vertex_removals(pm, pops)
        seen = {_hash_pruned(pm, pops)}
        out = []
        for m, o in cands:
            try:
                qm, qops = validate_spec(m, o)
            except ArchError:
                continue
            h = _hash_pruned(qm, qops)
            if h in seen:
                continue
            seen.add(h)
            out.append(self.parse(spec_string(qm, qops)))
        return out

    def enumerate(self) -> list[str]:
        if self._table is None:
            raise UsageError("NB101 has no built-in list of its 423,624 cells: give --dump (or --archs)")
        return list(self._specs)

    # trained results
    def _attach(self, table: NB101Table) -> None:
        self._table = table
        self._specs = table_spec_strings(table)
        self._hashes = table.hashes.astype("U32").tolist()
        self._by_hash = {h: i for i, h in enumerate(self._hashes)}
        self._by_spec = {s: i for i, s in enumerate(self._specs)}

    def load_dump(self, path: str | Path, dataset: str, epochs: int | None = None) -> Benchmark:
        """Mean over the 3 repeats of the final validation/test accuracy (%) at ``epochs``
        (default 108; 4/12/36 in ``nasbench_full.tfrecord``), one Record per graph in file
        order; ``extra`` holds ``params`` (M, trainable_parameters/1e6) and the module ``hash``."""
        self.check_dataset(dataset)
        ep = 108 if epochs is None else int(epochs)
        table = load_table(path)
        have = table.epochs()
        if ep not in have:
            raise DumpError(f"{path}: no {ep}-epoch results in this dump (it has {', '.join(map(str, have))})")
        self._attach(table)
        idx, means = table.averaged(ep, ("final_validation_accuracy", "final_test_accuracy"))
        hashes = self._hashes
        params = table.params.tolist()
        records = [
            Record(
                int(i),
                self._specs[i],
                100.0 * float(val),
                100.0 * float(test),
                {"params": params[i] / 1e6, "hash": hashes[i]},
            )
            for i, (val, test) in zip(idx.tolist(), means.tolist())
        ]
        return Benchmark(self.name, dataset, str(path), records)

    # networks
    def build(self, arch: str, dataset: str, **options) -> nn.Module:
        self.check_dataset(dataset)
        pm, pops = validate_spec(*spec_from_string(self.parse(arch)))
        net = Network101(pm, pops, NUM_CLASSES)
        init = options.get("init", "port")
        if init == "port":  # what Abdelfattah et al. and NASLib scored; see nb101_model
            port_init(net)
        elif init != "default":
            raise ArchError(f"unknown init {init!r} (choose port or default)")
        return net

    def input_spec(self, dataset: str) -> InputSpec:
        self.check_dataset(dataset)
        return InputSpec((3, 32, 32), NUM_CLASSES, "classification", MEAN, STD)


# -- NASLib's encoding (NAS-Bench-Suite-Zero keys) ---------------------------------------------

# NASLib ``search_spaces/nasbench101/conversions.py`` ``all_ops``: op index -> name.
NASLIB_OPS = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")


def naslib_key_to_arch(key: str) -> str:
    """NASLib's NB101 hash ``convert_spec_to_tuple``: the V×V matrix flattened row-major, then V op
    indices into ``NASLIB_OPS`` (V = 7 for its padded specs: 56 integers) → the canonical pruned spec
    string (what ``parse`` returns without a dump). Raises ArchError."""
    text = re.sub(r"np\.\w+\((-?\d+)\)", r"\1", str(key))  # tolerate numpy>=2 reprs of the ints
    if not re.fullmatch(r"\s*[\(\[]\s*\d+(\s*,\s*\d+)*\s*,?\s*[\)\]]\s*", text):
        raise ArchError(f"invalid NASLib NB101 key {str(key)[:60]!r}: expected a tuple of integers")
    values = [int(d) for d in re.findall(r"\d+", text)]
    v = next((n for n in range(2, MAX_VERTICES + 1) if n * n + n == len(values)), None)
    if v is None:
        raise ArchError(f"invalid NASLib NB101 key {str(key)[:60]!r}: {len(values)} integers is not V*V + V, V <= 7")
    ops = values[v * v :]
    if any(o >= len(NASLIB_OPS) for o in ops):
        raise ArchError(f"invalid NASLib NB101 key {str(key)[:60]!r}: op indices must be 0..{len(NASLIB_OPS) - 1}")
    matrix = [values[r * v : (r + 1) * v] for r in range(v)]
    return spec_string(*validate_spec(matrix, [NASLIB_OPS[o] for o in ops]))


# -- the moves of NB101Space.neighbours (candidates; each is pruned and checked there) --------------------
def _edge_flips(pm: list[list[int]], pops: list[str]) -> list[Spec]:
    """Flip one edge of the upper triangle (row-major)."""
    v = len(pm)
    out = []
    for i in range(v):
        for j in range(i + 1, v):
            m = [row[:] for row in pm]
            m[i][j] = 1 - m[i][j]
            out.append((m, pops))
    return out


def _op_changes(pm: list[list[int]], pops: list[str]) -> list[Spec]:
    """Change the op of one interior vertex."""
    return [
        (pm, pops[:k] + [op] + pops[k + 1 :]) for k in range(1, len(pm) - 1) for op in AVAILABLE_OPS if op != pops[k]
    ]


def _vertex_additions(pm: list[list[int]], pops: list[str]) -> list[Spec]:
    """A new vertex at position p (any op), fed by a vertex i < p, feeding an old vertex j >= p."""
    v = len(pm)
    if v >= MAX_VERTICES:
        return []
    out = []
    for p in range(1, v):
        grown = [row[:p] + [0] + row[p:] for row in pm]
        grown.insert(p, [0] * (v + 1))
        for i in range(p):
            for j in range(p, v):
                m = [row[:] for row in grown]
                m[i][p] = m[p][j + 1] = 1
                out += [(m, pops[:p] + [op] + pops[p:]) for op in AVAILABLE_OPS]
    return out


def _vertex_removals(pm: list[list[int]], pops: list[str]) -> list[Spec]:
    """Remove one interior vertex with its edges."""
    out = []
    for k in range(1, len(pm) - 1):
        keep = [r for r in range(len(pm)) if r != k]
        out.append(([[pm[r][c] for c in keep] for r in keep], [pops[r] for r in keep]))
    return out
