"""Fixed-length architecture encodings for the search predictor, keyed by space name.

``Space`` has no encoding hook, so they live here: NB201 and TNB101-micro one-hot per edge, NB101
the upper triangle of the 7x7 adjacency plus one-hot interior ops. A space without an entry gets no
encoding (the predictor then sees proxy scores only).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def nb201_onehot(arch: str) -> np.ndarray:
    """6 edges x 5 ops (official op order), edges in string order."""
    from ..spaces.nb201 import OPS, parse_arch_string

    out = np.zeros((6, len(OPS)))
    edges = [op for node in parse_arch_string(arch) for op, _ in node]
    for e, op in enumerate(edges):
        out[e, OPS.index(op)] = 1.0
    return out.ravel()


def tnb101_micro_onehot(arch: str) -> np.ndarray:
    """6 edges x 4 ops of ``64-41414-a_bc_def``."""
    digits = [int(c) for c in arch.split("-")[2] if c.isdigit()]
    out = np.zeros((6, 4))
    out[np.arange(6), digits] = 1.0
    return out.ravel()


def nb101_adjacency_ops(arch: str) -> np.ndarray:
    """The pruned spec placed in a 7-vertex frame (interior vertices first, output last):
    21 upper-triangle edge bits + 5 interior vertices x 3 ops one-hot."""
    from ..spaces.nb101 import AVAILABLE_OPS, MAX_VERTICES, spec_from_string

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


ENCODINGS: dict[str, Callable[[str], np.ndarray]] = {
    "nb201": nb201_onehot,
    "tnb101_micro": tnb101_micro_onehot,
    "nb101": nb101_adjacency_ops,
}


def encoder_for(space_name: str) -> Callable[[str], np.ndarray] | None:
    return ENCODINGS.get(space_name)
