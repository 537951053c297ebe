"""DARTS genotypes: parse (without ``eval``), validate, print, sample, and convert.

A genotype string is what DARTS' ``namedtuple`` prints::

    Genotype(normal=[('sep_conv_3x3', 0), ...8 pairs], normal_concat=[2, 3, 4, 5],
             reduce=[...8 pairs], reduce_concat=[2, 3, 4, 5])

Pairs ``2k, 2k+1`` feed intermediate node ``k+2``; an input index is 0 (cell k-2), 1 (cell k-1)
or an earlier intermediate node (2..k+1). Strings from files are untrusted, so they are parsed
with :mod:`ast` and only literal nodes are evaluated.

Other encodings handled here:
  * NASLib's *compact* tuple ``(((in, op_idx) x8), ((in, op_idx) x8))`` with NASLib's op order
    ``COMPACT_OPS`` (``naslib/search_spaces/nasbench301/conversions.py:convert_compact_to_genotype``);
  * the NB301 ConfigSpace dict (``NetworkSelectorDatasetInfo:darts:edge_{cell}_{id}`` = op with
    ``id = start_k + input``, ``start = 0, 2, 5, 9``; FORMATS §3.2; inverse of
    ``nasbench301/representations.py:convert_genotype_to_config``). Within a node, a config lists
    its two inputs in ascending order, as NB301's own ``convert_config_to_genotype`` does.
"""

from __future__ import annotations

import ast
import random
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ArchError

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

# quark0/darts cnn/genotypes.py PRIMITIVES (order matters only for messages)
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
NB301_OPS: tuple[str, ...] = PRIMITIVES[1:]  # NB301 excludes 'none' (SWAP's file uses it)
# NASLib compact encoding: op index -> op (conversions.py OPS list) — the same order as NB301_OPS
COMPACT_OPS: tuple[str, ...] = NB301_OPS
CONCAT = [2, 3, 4, 5]
STEPS = 4
CONFIG_PREFIX = "NetworkSelectorDatasetInfo:darts:"
_EDGE_START = (0, 2, 5, 9)  # first edge id of node k+2 in the NB301 config encoding
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def _short(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _literal(node: ast.AST, text: str, field: str) -> Any:
    """A literal value, or ``range(a, b)`` (some DARTS files print concat that way)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and not node.keywords
        and 1 <= len(node.args) <= 3
    ):
        args = [_literal(a, text, field) for a in node.args]
        if all(type(a) is int for a in args):
            return list(range(*args))
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ArchError(f"invalid DARTS genotype {_short(text)!r}: {field} is not a literal") from None


def check_cell(pairs: Any, name: str, text: str = "") -> list[tuple[str, int]]:
    """Validate one cell (8 (op, input) pairs) and return it as a list of tuples."""
    where = f"invalid DARTS genotype {_short(text)!r}: " if text else "invalid DARTS genotype: "
    if not isinstance(pairs, (list, tuple)) or len(pairs) != 2 * STEPS:
        n = len(pairs) if isinstance(pairs, (list, tuple)) else type(pairs).__name__
        raise ArchError(f"{where}{name} needs {2 * STEPS} (op, input) pairs, got {n}")
    out = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ArchError(f"{where}{name}[{i}] is not an (op, input) pair")
        op, inp = pair
        if not isinstance(op, str) or op not in PRIMITIVES:
            raise ArchError(f"{where}{name}[{i}] has unknown op {op!r} (ops: {', '.join(PRIMITIVES)})")
        if type(inp) is not int:
            raise ArchError(f"{where}{name}[{i}] input {inp!r} is not an integer")
        node = i // 2 + 2
        if not 0 <= inp < node:
            raise ArchError(f"{where}{name}[{i}] feeds node {node}, so its input must be in 0..{node - 1}, got {inp}")
        out.append((op, inp))
    return out


def check_concat(value: Any, name: str, text: str = "") -> list[int]:
    if not isinstance(value, (list, tuple)) or list(value) != CONCAT or any(type(v) is not int for v in value):
        raise ArchError(f"invalid DARTS genotype {_short(text)!r}: {name} must be [2, 3, 4, 5], got {value!r}")
    return list(CONCAT)


def make_genotype(
    normal: Any, reduce: Any, normal_concat: Any = CONCAT, reduce_concat: Any = CONCAT, text: str = ""
) -> Genotype:
    """A validated :class:`Genotype` with list-of-tuple cells and list concats."""
    return Genotype(
        check_cell(normal, "normal", text),
        check_concat(normal_concat, "normal_concat", text),
        check_cell(reduce, "reduce", text),
        check_concat(reduce_concat, "reduce_concat", text),
    )


def parse_genotype(text: str) -> Genotype:
    """Parse ``Genotype(normal=..., ...)`` (keyword or positional fields) or a NASLib compact tuple.

    Raises :class:`ArchError` with a one-line reason for anything else."""
    s = str(text).strip()
    if not s:
        raise ArchError("empty DARTS genotype")
    try:
        tree = ast.parse(s, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ArchError(f"invalid DARTS genotype {_short(s)!r}: not Genotype(normal=..., reduce=...) syntax") from None
    if isinstance(tree, ast.Tuple):  # NASLib compact encoding
        return compact_to_genotype(_literal(tree, s, "compact tuple"), s)
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
        raise ArchError(f"invalid DARTS genotype {_short(s)!r}: expected Genotype(normal=..., reduce=...)")
    if len(tree.args) > len(_FIELDS):
        raise ArchError(f"invalid DARTS genotype {_short(s)!r}: too many fields")
    fields: dict[str, Any] = {}
    for name, node in zip(_FIELDS, tree.args):
        fields[name] = _literal(node, s, name)
    for kw in tree.keywords:
        if kw.arg not in _FIELDS:
            raise ArchError(f"invalid DARTS genotype {_short(s)!r}: unknown field {kw.arg!r}")
        if kw.arg in fields:
            raise ArchError(f"invalid DARTS genotype {_short(s)!r}: field {kw.arg!r} given twice")
        fields[kw.arg] = _literal(kw.value, s, kw.arg)
    missing = [f for f in _FIELDS if f not in fields]
    if missing:
        raise ArchError(f"invalid DARTS genotype {_short(s)!r}: missing {', '.join(missing)}")
    return make_genotype(fields["normal"], fields["reduce"], fields["normal_concat"], fields["reduce_concat"], s)


def format_genotype(g: Genotype) -> str:
    """The canonical string: exactly DARTS' namedtuple repr with list cells and list concats."""
    normal = [(str(op), int(i)) for op, i in g.normal]
    reduce = [(str(op), int(i)) for op, i in g.reduce]
    return (
        f"Genotype(normal={normal!r}, normal_concat={list(g.normal_concat)!r}, "
        f"reduce={reduce!r}, reduce_concat={list(g.reduce_concat)!r})"
    )


def uses_none(g: Genotype) -> bool:
    """True when a cell uses 'none' (outside NB301's space; SWAP's file has such genotypes)."""
    return any(op == "none" for op, _ in list(g.normal) + list(g.reduce))


# -- NASLib compact ---------------------------------------------------------------------------


def compact_to_genotype(compact: Any, text: str = "") -> Genotype:
    """NASLib ``convert_compact_to_genotype``: pair ``(input, op_index)`` → ``(COMPACT_OPS[op], input)``."""
    where = f"invalid NASLib compact architecture {_short(text or str(compact))!r}"
    if not isinstance(compact, (list, tuple)) or len(compact) != 2:
        raise ArchError(f"{where}: expected (normal, reduce)")
    cells = []
    for cell in compact:
        if not isinstance(cell, (list, tuple)) or len(cell) != 2 * STEPS:
            raise ArchError(f"{where}: each cell needs {2 * STEPS} (input, op) pairs")
        pairs = []
        for pair in cell:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2 or any(type(v) is not int for v in pair):
                raise ArchError(f"{where}: {pair!r} is not an (input, op_index) pair of integers")
            inp, op = pair
            if not 0 <= op < len(COMPACT_OPS):
                raise ArchError(f"{where}: op index {op} outside 0..{len(COMPACT_OPS) - 1}")
            pairs.append((COMPACT_OPS[op], inp))
        cells.append(pairs)
    return make_genotype(cells[0], cells[1], text=text)


def genotype_to_compact(g: Genotype) -> tuple:
    """NASLib ``convert_genotype_to_compact`` (no 'none' in NASLib's encoding)."""
    out = []
    for cell in (g.normal, g.reduce):
        pairs = []
        for op, inp in cell:
            if op not in COMPACT_OPS:
                raise ArchError(f"op {op!r} has no NASLib compact encoding")
            pairs.append((inp, COMPACT_OPS.index(op)))
        out.append(tuple(pairs))
    return tuple(out)


# -- predictor encoding ------------------------------------------------------------------------

NUM_EDGES = sum(k + 2 for k in range(STEPS))  # 14 possible (input -> intermediate node) edges per cell


def encode_genotype(g: Genotype) -> list[float]:
    """Per cell (normal, then reduce), the 14 possible edges x 8 ``PRIMITIVES``: the count of pairs that
    put that op on that edge (0 or 1; 2 only when a node takes the same input twice with the same op).
    Edge ids are the NB301 ConfigSpace ones (``start_k + input``), so the order of a node's two pairs
    does not matter. 224 numbers; the predictor features of ``zcbench predict`` and ``zcbench search``."""
    out = [0.0] * (2 * NUM_EDGES * len(PRIMITIVES))
    for c, cell in enumerate((g.normal, g.reduce)):
        for i, (op, inp) in enumerate(cell):
            edge = _EDGE_START[i // 2] + inp
            out[(c * NUM_EDGES + edge) * len(PRIMITIVES) + PRIMITIVES.index(op)] += 1.0
    return out


# -- NB301 ConfigSpace dict --------------------------------------------------------------------


def genotype_to_config(g: Genotype) -> dict[str, Any]:
    """NB301 ``convert_genotype_to_config``: edge/op keys and sorted ``inputs_node`` keys."""
    config: dict[str, Any] = {}
    for cell_type, cell in (("normal", g.normal), ("reduce", g.reduce)):
        for k in range(STEPS):
            pairs = cell[2 * k : 2 * k + 2]
            for op, inp in pairs:
                config[f"{CONFIG_PREFIX}edge_{cell_type}_{_EDGE_START[k] + inp}"] = op
            if k > 0:
                ins = sorted(inp for _, inp in pairs)
                config[f"{CONFIG_PREFIX}inputs_node_{cell_type}_{k + 2}"] = f"{ins[0]}_{ins[1]}"
    return config


def config_to_genotype(config: Mapping[str, Any]) -> Genotype:
    """NB301 ConfigSpace dict → genotype (inputs ascending within a node). The ``inputs_node`` keys,
    when present, must agree with the edges found; raises :class:`ArchError` otherwise."""
    cells = []
    for cell_type in ("normal", "reduce"):
        pairs: list[tuple[str, int]] = []
        for k in range(STEPS):
            found = []
            for inp in range(k + 2):
                op = config.get(f"{CONFIG_PREFIX}edge_{cell_type}_{_EDGE_START[k] + inp}")
                if op is not None:
                    found.append((op, inp))
            if len(found) != 2:
                raise ArchError(
                    f"NB301 config: node {k + 2} of the {cell_type} cell has {len(found)} input edges, not 2"
                )
            key = f"{CONFIG_PREFIX}inputs_node_{cell_type}_{k + 2}"
            if k > 0 and key in config:
                want = f"{found[0][1]}_{found[1][1]}"
                if str(config[key]) != want:
                    raise ArchError(f"NB301 config: {key} = {config[key]!r} but the edges say {want!r}")
            pairs.extend(found)
        cells.append(pairs)
    return make_genotype(cells[0], cells[1])


# -- sampling -------------------------------------------------------------------------------


def sample_genotype(rng: random.Random, ops: Sequence[str] = NB301_OPS) -> Genotype:
    """One genotype as NB301's ConfigSpace samples it: per node two distinct inputs (uniform over
    the pairs, written ascending) and an independent uniform op per edge."""
    cells = []
    for _ in range(2):
        pairs = []
        for k in range(STEPS):
            a, b = sorted(rng.sample(range(k + 2), 2))
            pairs += [(rng.choice(ops), a), (rng.choice(ops), b)]
        cells.append(pairs)
    return Genotype(cells[0], list(CONCAT), cells[1], list(CONCAT))


def sample_genotypes(n: int, seed: int) -> list[Genotype]:
    """``n`` distinct random genotypes, reproducible from ``seed``."""
    rng = random.Random(seed)
    seen: dict[str, Genotype] = {}
    while len(seen) < n:
        g = sample_genotype(rng)
        seen.setdefault(format_genotype(g), g)
    return list(seen.values())
