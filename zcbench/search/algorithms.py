"""Search algorithms over a :class:`SearchProblem`, registered by name (``--algo 'ae*'``).

Each is ``fn(problem, budget, rng, settings) -> TrainedCounter``: it may read accuracies only via
the counter (so at most ``budget`` distinct trained models) and proxy scores freely (zero cost).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..predictors.features import uses_encoding, uses_zc, zc_matrix
from ..predictors.models import MODELS, make_predictor
from ..registry import Registry
from .problem import SearchProblem, TrainedCounter

STALL = 1000  # consecutive already-trained children before a fresh random arch is forced in


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of all algorithms; each reads the ones it needs (documented in docs/search.md)."""

    warmup: int = 0  # zero-cost warm-up pool size (0 = off)
    move: float = 0.0  # probability of the zero-cost move proposal (0 = off)
    population: int = 64
    sample: int = 10
    cycles: int = 1000  # proxy-evolution: proxy-only evolution steps
    candidates: int = 100  # predictor-evolution: offspring candidates scored by the predictor per generation
    min_train: int = 10  # predictor-evolution: plain AE until this many are trained
    model: str = "rf"  # predictor-evolution: the predictor (zcbench.predictors.MODELS)
    features: str = "encoding+zc"  # predictor-evolution: its features (encoding, zc, encoding+zc)
    offspring: int = 10  # predictor-evolution: candidates trained per generation
    explore: float = 0.2  # predictor-evolution: share of them drawn from lower prediction percentiles
    count_repeats: bool = False  # every query is a trained model, repeats included (the notebook's count)


AlgoFn = Callable[[SearchProblem, int, np.random.Generator, SearchSettings], TrainedCounter]


@dataclass(frozen=True)
class Algorithm:
    """A registered algorithm; ``options`` = the zero-cost options that make twin variants."""

    name: str
    fn: AlgoFn
    options: tuple[str, ...] = ()
    mutates: bool = True
    summary: str = ""
    label: tuple[str, ...] = ()  # settings a variant's name shows, e.g. predictor-evolution[rf,encoding]


ALGORITHMS: Registry[Algorithm] = Registry("search algorithm")


def register_algorithm(
    name: str, options: tuple[str, ...] = (), mutates: bool = True, summary: str = "", label: tuple[str, ...] = ()
):
    def deco(fn: AlgoFn) -> AlgoFn:
        ALGORITHMS.add(name, Algorithm(name, fn, options, mutates, summary, label))
        return fn

    return deco


# -- shared pieces -------------------------------------------------------------------------------
def _initial(problem: SearchProblem, rng: np.random.Generator, size: int, warmup: int) -> list[int]:
    """Initial population: ``size`` random archs, or with warm-up the top ``size`` by proxy of a
    random pool of ``warmup`` (no training needed to rank the pool)."""
    n = len(problem)
    if warmup:
        return [int(i) for i in problem.by_proxy(rng.choice(n, min(warmup, n), replace=False))[:size]]
    return [int(i) for i in rng.choice(n, min(size, n), replace=False)]


def _tournament(key: np.ndarray, pop: deque, rng: np.random.Generator, sample: int) -> int:
    """The member of a random ``sample`` of ``pop`` with the largest ``key`` (first on ties)."""
    members = np.fromiter(pop, dtype=np.int64, count=len(pop))
    pick = members[rng.choice(len(members), min(sample, len(members)), replace=False)]
    return int(pick[int(np.argmax(key[pick]))])


def _mutate(
    problem: SearchProblem, counter: TrainedCounter, parent: int, rng: np.random.Generator, move: float
) -> int | None:
    """A random neighbour of ``parent``; with probability ``move`` instead the neighbour with the
    best proxy among those not trained yet (among all if every one is, or — when repeats count, as
    in the notebook — among all). None: no neighbour."""
    nb = problem.neighbours(parent)
    if not len(nb):
        return None
    if move > 0 and rng.random() < move:
        fresh = nb if counter.count_repeats else nb[[not counter.seen(j) for j in nb]]
        return int(problem.by_proxy(fresh if len(fresh) else nb)[0])
    return int(nb[rng.integers(len(nb))])


def _train_then_random(
    problem: SearchProblem, budget: int, first, rng: np.random.Generator, s: SearchSettings
) -> TrainedCounter:
    """Train ``first`` in order until the budget is spent, then random archs (``TrainedCounter.draw``)."""
    counter = TrainedCounter(problem, budget, s.count_repeats)
    for i in first:
        if counter.done:
            break
        counter.train(int(i))
    while not counter.done:
        counter.train(counter.draw(rng))
    return counter


class _Evolution:
    """Aging-evolution bookkeeping around a counter: population queue and the stall guard."""

    def __init__(self, problem: SearchProblem, budget: int, rng: np.random.Generator, s: SearchSettings) -> None:
        self.problem, self.rng, self.s = problem, rng, s
        self.counter = TrainedCounter(problem, budget, s.count_repeats)
        self.pop: deque = deque()
        self.stall = 0
        for i in _initial(problem, rng, s.population, s.warmup):
            if self.counter.done:
                break
            self.add(i)

    def add(self, child: int | None) -> None:
        """Train ``child`` (free if seen) and age the population; a missing child or a long run of
        already-trained children is replaced by a fresh random arch so the search cannot stall."""
        c = self.counter
        if child is None or (c.seen(child) and self.stall >= STALL):
            child = c.draw(self.rng)
            if child is None:
                return
        self.stall = self.stall + 1 if c.seen(child) else 0
        c.train(child)
        self.pop.append(child)
        if len(self.pop) > self.s.population:
            self.pop.popleft()

    def parent(self) -> int:
        return _tournament(self.problem.val, self.pop, self.rng, self.s.sample)


# -- algorithms ----------------------------------------------------------------------------------
@register_algorithm(
    "random", options=("warmup",), mutates=False, summary="random search; warm-up trains a proxy-ranked pool first"
)
def random_search(problem: SearchProblem, budget: int, rng: np.random.Generator, s: SearchSettings) -> TrainedCounter:
    """Uniform sampling without replacement. With ``warmup=W``: draw W archs, train them best
    proxy first, then go on sampling (Abdelfattah et al. 2021, §5)."""
    first = problem.by_proxy(rng.choice(len(problem), min(s.warmup, len(problem)), replace=False)) if s.warmup else []
    return _train_then_random(problem, budget, first, rng, s)


@register_algorithm(
    "ae",
    options=("warmup", "move"),
    summary="aging evolution (Real et al. 2019); warm-up seeds it, move proposes by proxy",
)
def aging_evolution(problem: SearchProblem, budget: int, rng: np.random.Generator, s: SearchSettings) -> TrainedCounter:
    """Regularised (aging) evolution: tournament of ``sample`` from a population of ``population``
    by val accuracy, one mutation, oldest removed. ``warmup`` seeds the population with the proxy's
    top of a pool; ``move=p`` takes the best-proxy neighbour with probability p."""
    ev = _Evolution(problem, budget, rng, s)
    while not ev.counter.done:
        ev.add(_mutate(problem, ev.counter, ev.parent(), rng, s.move))
    return ev.counter


@register_algorithm("proxy-evolution", summary="evolution on the proxy alone, then train the top-k by proxy")
def proxy_evolution(problem: SearchProblem, budget: int, rng: np.random.Generator, s: SearchSettings) -> TrainedCounter:
    """Zero-shot search (SWAP-NAS / Zen-NAS style): ``cycles`` aging-evolution steps whose fitness is
    the proxy (no training), then the ``budget`` best-proxy archs among all visited are trained,
    best first. If fewer were visited, random untrained archs fill the budget."""
    n = len(problem)
    pop: deque = deque(int(i) for i in rng.choice(n, min(s.population, n), replace=False))
    visited = dict.fromkeys(pop)  # insertion-ordered set
    for _ in range(s.cycles):
        nb = problem.neighbours(_tournament(problem.rank_score, pop, rng, s.sample))
        child = int(nb[rng.integers(len(nb))]) if len(nb) else int(rng.integers(n))
        visited[child] = None
        pop.append(child)
        pop.popleft()
    return _train_then_random(problem, budget, problem.by_proxy(list(visited)), rng, s)


class _Features:
    """Predictor features of domain ids (``zcbench.predictors``'s feature sets): the space's encoding, computed
    per architecture when first needed and cached on the problem so rounds share it, and/or the proxy
    columns as the model takes them (raw for trees, standardised ranks within the domain otherwise)."""

    def __init__(self, problem: SearchProblem, s: SearchSettings) -> None:
        self.problem = problem
        self.enc = problem.encoder() if uses_encoding(s.features) else None
        if uses_encoding(s.features) and self.enc is None:
            raise UsageError(f"space {problem.space.name!r} has no encoding; use features zc")
        self.rows = problem.cache.setdefault("predictor-encoding", {})
        self.zc = None
        if uses_zc(s.features):
            key = f"predictor-zc-{MODELS.get(s.model).zc_input}"
            if key not in problem.cache:
                problem.cache[key] = zc_matrix(problem.scores, MODELS.get(s.model).zc_input)
            self.zc = problem.cache[key]

    def __call__(self, ids: list[int]) -> np.ndarray:
        parts = []
        if self.enc is not None:
            for i in ids:
                if i not in self.rows:
                    self.rows[i] = self.enc(self.problem.archs[i])
            parts.append(np.vstack([self.rows[i] for i in ids]))
        if self.zc is not None:
            parts.append(self.zc[ids])
        return np.hstack(parts)


def _offspring(problem: SearchProblem, ev: _Evolution, rng: np.random.Generator, k: int) -> list[int]:
    """Up to ``k`` distinct untrained children, each one random mutation of its own tournament parent
    (``k`` attempts; a child already trained or already a candidate is not retried)."""
    cands: list[int] = []
    for _ in range(k):
        child = _mutate(problem, ev.counter, ev.parent(), rng, 0.0)
        if child is not None and not ev.counter.seen(child) and child not in cands:
            cands.append(child)
    return cands


def stratified_pick(pred: np.ndarray, k: int, explore: float, rng: np.random.Generator) -> list[int]:
    """``k`` positions of ``pred``: the ``k - e`` best predicted, and ``e = round(explore * k)`` more, one
    drawn uniformly from each of ``e`` equal percentile strata of the rest of the ranking (best first)."""
    order = np.argsort(-np.asarray(pred, dtype=float), kind="stable")
    k = min(int(k), len(order))
    n_explore = min(int(round(explore * k)), k)
    chosen = [int(i) for i in order[: k - n_explore]]
    rest = order[k - n_explore :]
    if n_explore and len(rest):
        chosen += [int(stratum[rng.integers(len(stratum))]) for stratum in np.array_split(rest, n_explore)]
    return chosen


@register_algorithm(
    "predictor-evolution",
    summary="PRE-NAS: evolution whose offspring a predictor (default random forest) picks before training",
    label=("model", "features"),
)
def predictor_evolution(
    problem: SearchProblem, budget: int, rng: np.random.Generator, s: SearchSettings
) -> TrainedCounter:
    """Predictor-assisted evolution after PRE-NAS (Peng et al., GECCO 2022; IEEE TEVC 27(1), 2023), as far
    as the papers describe it; the choices where they do not are in docs/search.md. The initial population
    (``population`` random architectures) is trained. Each generation mutates tournament parents into up to
    ``candidates`` untrained offspring, fits the predictor (``model`` on ``features``) on every trained
    architecture, and trains ``offspring`` of them: the best predicted, and with ``explore`` > 0 some drawn
    from lower percentile strata of the predicted ranking. Trained offspring join the population, the
    oldest leave it (aging). Plain AE until ``min_train`` are trained."""
    ev = _Evolution(problem, budget, rng, s)
    feats = _Features(problem, s)
    while not ev.counter.done:
        c = ev.counter
        cands = _offspring(problem, ev, rng, s.candidates) if len(c.order) >= s.min_train else []
        if not cands:  # too few trained yet, or every child already trained: an ordinary AE step
            ev.add(_mutate(problem, c, ev.parent(), rng, 0.0))
            continue
        model = make_predictor(s.model, int(rng.integers(2**31 - 1))).fit(feats(c.order), problem.val[c.order])
        pred = model.predict(feats(cands))
        for i in stratified_pick(pred, min(s.offspring, c.budget - len(c.order)), s.explore, rng):
            ev.add(cands[i])
    return ev.counter
