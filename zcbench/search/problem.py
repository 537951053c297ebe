"""The search domain: which architectures exist, what training one would cost, what the proxy says.

A *trained model* is one distinct architecture whose accuracy was read from the benchmark (reading
it again is free). ``TrainedCounter`` is the only way an algorithm reads an accuracy, so the budget
is enforced in one place; it also records the incumbent (best validation accuracy so far, ties by
order of training) after every new trained model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ArchError, UsageError
from ..report.aggregate import with_aggregates
from ..spaces.base import Space
from ..store.columns import proxy_columns, target_column


@dataclass
class SearchProblem:
    """Architectures of one (space, dataset) with finite validation accuracy, their accuracies and
    proxy scores. ``scores[:, 0]`` is the proxy that ranks (warm-up, move proposal,
    proxy-evolution); every column is a predictor feature. Higher score = better; NaN ranks last."""

    space: Space
    archs: list[str]
    val: np.ndarray
    test: np.ndarray
    scores: np.ndarray  # (n, k)
    proxies: list[str]
    dataset: str = ""
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _alias: dict[str, int] | None = field(default=None, repr=False)
    _nbrs: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    cache: dict = field(default_factory=dict, repr=False)  # per-problem data an algorithm reuses over rounds

    def __post_init__(self) -> None:
        self.val = np.asarray(self.val, dtype=float)
        self.test = np.asarray(self.test, dtype=float)
        self.scores = np.asarray(self.scores, dtype=float).reshape(len(self.archs), -1)
        if not (len(self.archs) == len(self.val) == len(self.test) == len(self.scores)):
            raise ValueError("archs, val, test and scores must have one entry per architecture")
        self._index = {a: i for i, a in enumerate(self.archs)}
        rank = self.scores[:, 0] if self.scores.shape[1] else np.zeros(len(self.archs))
        self.rank_score = np.where(np.isnan(rank), -np.inf, rank)  # NaN ranks last

    def __len__(self) -> int:
        return len(self.archs)

    def resolve(self, arch: str) -> int | None:
        """Domain id of an architecture string, or None when it is outside the domain."""
        i = self._index.get(arch)
        if i is not None or type(self.space).canonical_key is Space.canonical_key:
            return i  # no other spelling of an architecture exists in this space
        key = self.space.canonical_key
        if self._alias is None:  # built once, on the first spelling that is not the domain's own
            self._alias = {}
            for j, a in enumerate(self.archs):
                try:
                    self._alias.setdefault(key(a), j)
                except ArchError:  # an unparsable stored string cannot be reached anyway
                    continue
        try:
            return self._alias.get(key(arch))
        except ArchError:
            return None

    def encoder(self) -> Callable[[str], np.ndarray] | None:
        """The space's search encoding, or None where it has none (predictor: proxy scores only)."""
        return None if type(self.space).encode is Space.encode else self.space.encode

    def neighbours(self, i: int) -> np.ndarray:
        """Domain ids one mutation away from domain id ``i`` (outside-domain ones skipped), cached."""
        got = self._nbrs.get(i)
        if got is None:
            ids = []
            for a in self.space.neighbours(self.archs[i]):
                j = self.resolve(a)
                if j is not None and j != i and j not in ids:
                    ids.append(j)
            got = self._nbrs[i] = np.asarray(ids, dtype=np.int64)
        return got

    def by_proxy(self, ids: Sequence[int]) -> np.ndarray:
        """``ids`` ordered best proxy first (NaN last, ties in the given order)."""
        ids = np.asarray(ids, dtype=np.int64)
        return ids[np.argsort(-self.rank_score[ids], kind="stable")]

    def check_mutable(self) -> None:
        """Raise UsageError now (not mid-search) when the space has no mutation operator."""
        if len(self.archs):
            self.space.neighbours(self.archs[0])


class TrainedCounter:
    """Counts trained architectures against a budget and keeps the incumbent history.

    By default a trained model is a *distinct* architecture (reading a seen one again is free).
    With ``count_repeats`` every query counts, repeats included, as in Abdelfattah et al.'s
    notebook (``nas_examples.ipynb``), where random search samples with replacement and every
    evolution child is "trained" even when it was seen before.

    ``history_val[n-1]`` / ``history_test[n-1]``: validation / test accuracy of the incumbent after
    ``n`` trained models; the incumbent is the trained arch with the best validation accuracy.
    ``history_best_test[n-1]``: the best test accuracy among the first ``n`` (the notebook's curve:
    an oracle number no practitioner could pick, reported for comparison with its figure)."""

    def __init__(self, problem: SearchProblem, budget: int, count_repeats: bool = False) -> None:
        self.problem = problem
        self.budget = int(budget)
        self.count_repeats = bool(count_repeats)
        self.trained: dict[int, float] = {}
        self.order: list[int] = []
        self.best: int | None = None
        self.history_val: list[float] = []
        self.history_test: list[float] = []
        self.history_best_test: list[float] = []

    @property
    def done(self) -> bool:
        return len(self.order) >= self.budget

    def seen(self, i: int) -> bool:
        return int(i) in self.trained

    def train(self, i: int) -> float:
        """Validation accuracy of domain id ``i``; counts it when new. Training past the budget
        is a bug in the algorithm, so it raises."""
        i = int(i)
        if i in self.trained and not self.count_repeats:
            return self.trained[i]
        if self.done:
            raise RuntimeError("search algorithm trained past its budget")
        v = float(self.problem.val[i])
        self.trained[i] = v
        self.order.append(i)
        if self.best is None or v > self.trained[self.best]:
            self.best = i
        self.history_val.append(float(self.problem.val[self.best]))
        self.history_test.append(float(self.problem.test[self.best]))
        t = float(self.problem.test[i])
        prev = self.history_best_test[-1] if self.history_best_test else np.nan
        self.history_best_test.append(t if np.isnan(prev) or t > prev else prev)  # NaN until a test accuracy
        return v

    def draw(self, rng: np.random.Generator) -> int | None:
        """The next random architecture: uniform over the untrained ones, or — when repeats count —
        uniform over the whole domain (sampling with replacement, as the notebook does)."""
        if self.count_repeats:
            return int(rng.integers(len(self.problem)))
        return self.untrained_random(rng)

    def untrained_random(self, rng: np.random.Generator) -> int | None:
        """A uniformly drawn domain id not trained yet (None when all are)."""
        n = len(self.problem)
        if len(self.trained) >= n:
            return None
        while True:  # rejection is cheap while the budget is far below the domain size
            i = int(rng.integers(n))
            if i not in self.trained:
                return i


def problem_from_frame(frame, space: Space, dataset: str, proxies: Sequence[str]) -> SearchProblem:
    """The domain of (space, dataset) in a ``load_frame`` frame: rows with finite val accuracy."""
    block = frame[(frame["space"] == space.name) & (frame["dataset"] == dataset)]
    block = with_aggregates(block)  # az_nas/te_nas: ranks within this table, as correlate computes them
    if not len(block):
        have = sorted({f"{s}/{d}" for s, d in zip(frame["space"], frame["dataset"])})
        raise UsageError(
            f"no rows for {space.name}/{dataset} in the results file (has: {', '.join(have) or 'nothing'})"
        )
    if not proxies:
        raise UsageError("search needs at least one --proxy")
    have = proxy_columns(block)
    for p in proxies:
        if p not in have:
            raise UsageError(f"proxy {p!r} has no scores in the results file (has: {', '.join(have) or 'none'})")
        if not block[p].notna().any():
            raise UsageError(f"proxy {p!r} has no scores for {space.name}/{dataset}")
    # the accuracies the proxies were scored against (their runs' own, where another truth than the table's)
    truths = {p: (target_column(block, p, "val_accuracy"), target_column(block, p, "test_accuracy")) for p in proxies}
    if len(set(truths.values())) > 1:
        raise UsageError(
            f"{space.name}/{dataset}: {', '.join(proxies)} were scored against different accuracies (another dump, "
            "schedule or file); search with proxies that share them"
        )
    vcol, tcol = truths[proxies[0]]
    block = block[np.isfinite(block[vcol].to_numpy(dtype=float))]
    if not len(block):
        raise UsageError(f"no architecture of {space.name}/{dataset} has a validation accuracy in the results file")
    return SearchProblem(
        space=space,
        archs=block["arch"].astype(str).tolist(),
        val=block[vcol].to_numpy(dtype=float),
        test=block[tcol].to_numpy(dtype=float) if tcol in block else np.full(len(block), np.nan),
        scores=block[list(proxies)].to_numpy(dtype=float),
        proxies=list(proxies),
        dataset=dataset,
    )
