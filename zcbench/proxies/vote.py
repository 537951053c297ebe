"""``vote``: majority vote of synflow, jacov and snip (Abdelfattah et al., ICLR 2021, notebook
``nasbench201_correlations.ipynb`` cell 4; the abstract's 0.82 on NB201).

Vote is only defined on *pairs* of architectures: for a pair, each of the three proxies votes with the sign
of its score difference, and the figure is the fraction of ordered pairs (equal accuracies skipped) where
the majority agrees with the accuracy order. There is therefore no per-architecture value to store:
``compute_scores`` stores nothing under ``vote`` and instead makes sure its ``inputs`` (synflow, jacov, snip)
are computed; ``correlate`` computes the pairwise-agreement figure from those three columns.
"""

from __future__ import annotations

from torch import nn

from ..aggregates import VOTE_INPUTS
from .base import ProxyContext, register_proxy


@register_proxy(
    "vote",
    labels=True,
    grad=True,
    inputs=VOTE_INPUTS,
    splits=False,
    paper="Abdelfattah et al., ICLR 2021 (majority vote of synflow, jacob_cov, snip)",
)
def vote(net: nn.Module, ctx: ProxyContext) -> float:
    """Pairwise majority vote of synflow, jacov, snip (stores its inputs; correlate computes it)."""
    raise ValueError("vote has no per-architecture score; correlate computes it from synflow, jacov and snip")
