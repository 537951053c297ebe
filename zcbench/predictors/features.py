"""Predictor features: the space's architecture encoding, proxy scores, or both, for a pool of architectures.

A *pool* is the architectures of one (space, dataset) that have a validation accuracy and a score (not NaN)
from every chosen proxy (an architecture with a failed score is left out and counted). The encoding is the
space's own ``Space.encode`` (one-hot op per edge for NB201 and TNB101-micro, adjacency + ops for NB101,
edge x op incidence of both DARTS cells for NB301, module slots for TNB101-macro). Proxy columns are any
columns of the results frame — zcbench's own or imported ones such as ``snip@naslib``.

How a proxy reaches a model is the model's ``zc_input`` (``models.py``): ``raw`` values (±inf replaced by
±1e9 as NASLib does; a column beyond float32's range log-compressed, order kept), or ``rank``: the rank
within the pool, standardised. Ranking needs no accuracy, only the zero-cost scores every architecture of
the pool has, so it leaks nothing from the test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..report.selection import match_columns
from ..store.columns import proxy_columns, target_column

FEATURE_SETS = ("encoding", "zc", "encoding+zc")
CLIP = 1e9  # NASLib's zc_ensemble_evaluator replaces ±inf scores by ±1e9
FLOAT32_MAX = 1e38  # a raw column beyond this is log-compressed (trees compute in float32, max 3.4e38)


def uses_zc(features: str) -> bool:
    return features in ("zc", "encoding+zc")


def uses_encoding(features: str) -> bool:
    return features in ("encoding", "encoding+zc")


def check_features(features: Sequence[str]) -> list[str]:
    """The feature sets, each one of :data:`FEATURE_SETS` (one line naming them otherwise)."""
    out = []
    for f in features:
        for part in str(f).split(","):
            part = part.strip()
            if part not in FEATURE_SETS:
                raise UsageError(f"unknown feature set {part!r} (choose from {', '.join(FEATURE_SETS)})")
            if part not in out:
                out.append(part)
    if not out:
        raise UsageError(f"give at least one feature set ({', '.join(FEATURE_SETS)})")
    return out


def rank_standardise(scores: np.ndarray) -> np.ndarray:
    """Per column: rank within the rows (NaN lowest, ties in row order), then z-score (0 for a constant
    column). Ranks, because raw proxies such as synflow span many orders of magnitude."""
    scores = np.asarray(scores, dtype=float)
    out = np.zeros_like(scores)
    for c in range(scores.shape[1]):
        col = np.where(np.isnan(scores[:, c]), -np.inf, scores[:, c])
        r = np.argsort(np.argsort(col, kind="stable"), kind="stable").astype(float)
        sd = r.std()
        out[:, c] = (r - r.mean()) / sd if sd > 0 else 0.0
    return out


def zc_matrix(scores: np.ndarray, zc_input: str) -> np.ndarray:
    """Proxy columns as a model takes them: ``rank`` (standardised ranks) or ``raw``: the values, ±inf → ±1e9
    as NASLib does, and a column that leaves float32's range (XGBoost and scikit-learn's trees compute in
    float32; raw synflow can reach 1e50) as sign(x)·log10(1 + |x|), which keeps its order."""
    scores = np.asarray(scores, dtype=float)
    if zc_input == "rank":
        return rank_standardise(scores)
    out = np.where(np.isinf(scores), np.sign(scores) * CLIP, scores)
    big = np.nanmax(np.abs(out), axis=0, initial=0.0) > FLOAT32_MAX
    out[:, big] = np.sign(out[:, big]) * np.log10(1.0 + np.abs(out[:, big]))
    return out


def encode_archs(space_name: str, archs: Sequence[str]) -> np.ndarray:
    """The space's encoding of every architecture, one row each (UsageError if the space has none)."""
    from ..spaces import get_space  # the spaces (and torch) only when an encoding is asked for

    space = get_space(space_name)
    rows = [space.encode(a) for a in archs]
    if any(r is None for r in rows):
        raise UsageError(f"space {space.name!r} has no architecture encoding; use --features zc")
    return np.vstack(rows).astype(float) if rows else np.zeros((0, 0))


@dataclass
class Pool:
    """The architectures a predictor is trained and tested on, with their accuracies and proxy scores."""

    space: str
    dataset: str
    archs: list[str]
    val: np.ndarray
    scores: np.ndarray  # (n, k) raw proxy scores, all finite or ±inf
    proxies: list[str]
    dropped: int = 0  # architectures left out for a missing proxy score
    _cache: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.archs)

    def encoding(self) -> np.ndarray:
        if "encoding" not in self._cache:
            self._cache["encoding"] = encode_archs(self.space, self.archs)
        return self._cache["encoding"]

    def matrix(self, features: str, zc_input: str) -> np.ndarray:
        """The feature matrix of every pool architecture for one feature set, cached per (set, input)."""
        key = (features, zc_input if uses_zc(features) else "")
        if key not in self._cache:
            parts = []
            if uses_encoding(features):
                parts.append(self.encoding())
            if uses_zc(features):
                if not self.proxies:
                    raise UsageError(f"--features {features} needs proxy columns (--proxy)")
                parts.append(zc_matrix(self.scores, zc_input))
            self._cache[key] = np.hstack(parts)
        return self._cache[key]


def pool_from_frame(
    frame: pd.DataFrame, space: str, dataset: str, proxies: Sequence[str] | None, where: str = "the results"
) -> Pool:
    """The pool of (space, dataset) in a ``load_frame`` frame. ``proxies``: names or wildcards of proxy
    columns (``snip@naslib`` included); None means every column with a score there; () means none."""
    block = frame[(frame["space"].astype(str) == space) & (frame["dataset"].astype(str) == dataset)]
    have = [c for c in proxy_columns(block) if block[c].notna().any()]
    names = match_columns(have, proxies, where) if proxies is None or list(proxies) else []
    # the accuracies the features' runs were scored against (their own where another truth than the table's)
    targets = {target_column(block, p, "val_accuracy") for p in names} or {"val_accuracy"}
    if len(targets) > 1:
        raise UsageError(
            f"{space}/{dataset}: the proxies {', '.join(names)} were scored against different accuracies (another "
            "dump, schedule or file); predict from proxies that share them"
        )
    tcol = targets.pop()
    block = block[np.isfinite(block[tcol].to_numpy(dtype=float))] if tcol in block else block.iloc[:0]
    if not len(block):
        raise UsageError(f"no architecture of {space}/{dataset} has a validation accuracy in {where}")
    scores = block[names].to_numpy(dtype=float) if names else np.zeros((len(block), 0))
    keep = ~np.isnan(scores).any(axis=1)
    return Pool(
        space=space,
        dataset=dataset,
        archs=block["arch"].astype(str)[keep].tolist(),
        val=block[tcol].to_numpy(dtype=float)[keep],
        scores=scores[keep],
        proxies=list(names),
        dropped=int((~keep).sum()),
    )
