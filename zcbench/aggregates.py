"""Proxies computed from other proxies' stored scores, declared once without torch.

A proxy with ``inputs`` stores no per-architecture value: a run stores its inputs, and the tables compute
it from them. The proxy registry (``proxies/vote.py``, ``proxies/az_nas.py``, ``proxies/te_nas.py``) and
the tables (``report/``) both read the declarations here, so the commands that only read results never
import torch.

* ``vote`` (Abdelfattah et al.) is defined on *pairs* of architectures; ``correlate`` computes its pairwise
  agreement figure from the three inputs.
* ``az_nas`` and ``te_nas`` are *population* proxies: each architecture's value is a sum of its ranks
  among the architectures being compared, so it depends on that set. :data:`AGGREGATES` holds how each
  combines its inputs; the tables call the combination on one set at a time (``report/aggregate.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# the proxies whose majority ``vote`` is (Abdelfattah et al., ICLR 2021)
VOTE_INPUTS = ("synflow", "jacov", "snip")
# AZ-NAS's four components (Lee & Ham, CVPR 2024) and TE-NAS's two (Chen et al., ICLR 2021)
AZ_NAS_INPUTS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
TE_NAS_INPUTS = ("ntk_cond", "linear_regions")


def _ranks(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata  # only when a table computes an aggregate

    return rankdata(values)


def az_nas_scores(columns: Sequence[np.ndarray]) -> np.ndarray:
    """AZ-NAS's aggregate (``NB201/tss_general.ipynb``): Σ_c log(rank_c / n) over the components
    (expressivity, progressivity, trainability, complexity), average ranks, ascending (higher is better).

    The set is the architectures whose complexity (FLOPs, never undefined for a scored network) is finite;
    n is its size. A NaN in another component is the authors' −∞ (a constant feature map, an identity
    cell) and ranks lowest, tied with the other −∞s; architectures outside the set get NaN."""
    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    out = np.full(cols[0].shape, np.nan)
    member = np.isfinite(cols[-1])
    n = int(member.sum())
    if n == 0:
        return out
    total = np.zeros(n)
    for c in cols:
        v = c[member]
        total += np.log(_ranks(np.where(np.isfinite(v), v, -np.inf)) / n)
    out[member] = total
    return out


def te_nas_scores(columns: Sequence[np.ndarray]) -> np.ndarray:
    """TE-NAS's aggregate as the per-architecture ports compute it (AZ-NAS ``tss_general.ipynb``, after
    TE-NAS ``prune_tenas.py``): rank(−κ_NTK) + rank(#linear regions), average ranks, higher is better, over
    the architectures that have both scores (the others get NaN)."""
    cond, regions = (np.asarray(c, dtype=np.float64) for c in columns)
    out = np.full(cond.shape, np.nan)
    member = np.isfinite(cond) & np.isfinite(regions)
    if member.any():
        out[member] = _ranks(-cond[member]) + _ranks(regions[member])
    return out


@dataclass(frozen=True)
class Aggregate:
    """A population proxy: its stored inputs and how one set's input columns become its scores."""

    name: str
    inputs: tuple[str, ...]
    combine: Callable[[Sequence[np.ndarray]], np.ndarray]
    rule: str  # one line for ``zcbench proxies`` and the captions


AGGREGATES: dict[str, Aggregate] = {
    "az_nas": Aggregate(
        "az_nas",
        AZ_NAS_INPUTS,
        az_nas_scores,
        "sum of log(rank/n) of its 4 components among the architectures compared (NaN component = lowest)",
    ),
    "te_nas": Aggregate(
        "te_nas",
        TE_NAS_INPUTS,
        te_nas_scores,
        "rank(-ntk_cond) + rank(linear_regions) among the architectures compared",
    ),
}
# the set an aggregate is computed over, as every table states it
AGGREGATE_SET = (
    "ranks within each (space, dataset) table of the results (after --space/--dataset), or within each "
    "sample when the protocol samples architectures"
)
