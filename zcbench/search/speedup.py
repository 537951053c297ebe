"""Rounds of search per variant, mean incumbent curves, and the speed-up table.

A *variant* is an algorithm plus its zero-cost options (``ae+warmup3000+move0.75``). Every variant
runs the same rounds: round r uses ``numpy.random.default_rng(seed + r)``, so variants of one
round share their random stream as far as their choices agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..progress import bar
from .algorithms import ALGORITHMS, SearchSettings
from .problem import SearchProblem


@dataclass(frozen=True)
class Variant:
    name: str
    algo: str
    settings: SearchSettings


def variant_name(algo: str, s: SearchSettings) -> str:
    """``ae+warmup3000+move0.75``; an algorithm's ``label`` settings in brackets:
    ``predictor-evolution[rf,encoding]``."""
    name = algo
    label = ALGORITHMS.get(algo).label
    if label:
        name += "[" + ",".join(str(getattr(s, k)) for k in label) + "]"
    if s.warmup:
        name += f"+warmup{s.warmup}"
    if s.move:
        name += f"+move{s.move:g}"
    return name


def make_variants(algos: Sequence[str], base: SearchSettings) -> list[Variant]:
    """Each algorithm plain and with every combination of the zero-cost options it takes that
    ``base`` turns on; algorithms without such options run once, with the options off."""
    out: list[Variant] = []
    for algo in algos:
        opts = [o for o in ALGORITHMS.get(algo).options if getattr(base, o)]
        plain = replace(base, warmup=0, move=0.0)
        combos = [plain]
        for o in opts:
            combos += [replace(c, **{o: getattr(base, o)}) for c in combos]
        for s in combos:
            v = Variant(variant_name(algo, s), algo, s)
            if v.name not in {x.name for x in out}:
                out.append(v)
    return out


def default_baseline(v: Variant) -> str:
    """The same algorithm without zero-cost options; plain random search for algorithms that
    have no such twin."""
    return v.algo if ALGORITHMS.get(v.algo).options else "random"


def plan_variants(
    algos: Sequence[str], base: SearchSettings, baseline: str | None = None
) -> tuple[list[Variant], dict[str, str]]:
    """The variants to run and, for each, the variant it is compared with. ``baseline`` (a variant
    name or an algorithm, run plain if not already among the variants) applies to every row;
    otherwise each row's plain twin, and plain random search (added) for algorithms without one."""
    variants = make_variants(algos, base)
    names = [v.name for v in variants]
    if baseline:
        if baseline not in names:
            if baseline not in ALGORITHMS:
                raise UsageError(
                    f"--baseline {baseline!r} is neither a variant run here ({', '.join(names)}) nor an algorithm"
                )
            variants = make_variants([baseline], replace(base, warmup=0, move=0.0))[:1] + variants
        return variants, {v.name: baseline for v in variants}
    baselines = {v.name: default_baseline(v) for v in variants}
    if any(b not in names for b in baselines.values()):  # e.g. proxy-evolution alone: run random too
        variants = make_variants(["random"], replace(base, warmup=0, move=0.0))[:1] + variants
        baselines["random"] = "random"
    return variants, baselines


@dataclass
class RoundsResult:
    """Incumbent accuracy after n = 1..budget trained models, one row per round."""

    variant: Variant
    val: np.ndarray  # (rounds, budget): the incumbent's validation accuracy
    test: np.ndarray  # the incumbent's test accuracy
    trained: list[list[int]]  # domain ids in training order, per round
    best_test: np.ndarray | None = None  # best test accuracy trained so far (the notebook's curve)

    def mean(self, which: str = "test") -> np.ndarray:
        with np.errstate(invalid="ignore"):  # NaN where the file has no accuracy of that kind, without a warning
            return getattr(self, which).mean(axis=0)

    def std(self, which: str = "test") -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return getattr(self, which).std(axis=0)


def check_sizes(problem: SearchProblem, variants: Sequence[Variant], budget: int, rounds: int) -> None:
    n = len(problem)
    if budget < 1 or rounds < 1:
        raise UsageError("--budget and --rounds must be at least 1")
    if budget > n:
        raise UsageError(
            f"budget of {budget} trained models is larger than the domain ({n} architectures with a val accuracy)"
        )
    for v in variants:
        if v.settings.warmup > n:
            raise UsageError(f"warm-up pool of {v.settings.warmup} is larger than the domain ({n} architectures)")
        if not 0.0 <= v.settings.move <= 1.0:
            raise UsageError(f"--move is a probability, got {v.settings.move}")
        if v.settings.population < 1 or v.settings.sample < 1:
            raise UsageError("--population and --sample must be at least 1")
        if v.algo == "predictor-evolution":
            check_predictor(v.settings)
    if any(ALGORITHMS.get(v.algo).mutates for v in variants):
        problem.check_mutable()


def check_predictor(s: SearchSettings) -> None:
    """predictor-evolution's settings: a registered model, a feature set, sensible counts."""
    from ..predictors.features import check_features
    from ..predictors.models import MODELS

    MODELS.get(s.model)
    if check_features([s.features]) != [s.features]:
        raise UsageError(f"features takes one feature set, got {s.features!r}")
    if s.offspring < 1 or s.candidates < 1:
        raise UsageError("--offspring and --candidates must be at least 1")
    if not 0.0 <= s.explore <= 1.0:
        raise UsageError(f"--explore is a share between 0 and 1, got {s.explore}")


def run_search(
    problem: SearchProblem, variants: Sequence[Variant], budget: int, rounds: int, seed: int = 0
) -> dict[str, RoundsResult]:
    """Run every variant for ``rounds`` rounds (seeds ``seed..seed+rounds-1``)."""
    check_sizes(problem, variants, budget, rounds)
    out: dict[str, RoundsResult] = {}
    with bar(total=rounds * len(variants), desc="search", unit="round") as progress:
        for v in variants:
            fn = ALGORITHMS.get(v.algo).fn
            val = np.empty((rounds, budget))
            test = np.empty((rounds, budget))
            best_test = np.empty((rounds, budget))
            trained = []
            progress.set_postfix_str(v.name, refresh=False)
            for r in range(rounds):
                counter = fn(problem, budget, np.random.default_rng(seed + r), v.settings)
                if len(counter.order) != budget:  # an algorithm bug, not a user error
                    raise RuntimeError(f"{v.name} trained {len(counter.order)} models, budget {budget}")
                val[r], test[r], best_test[r] = counter.history_val, counter.history_test, counter.history_best_test
                trained.append(list(counter.order))
                progress.update(1)
            out[v.name] = RoundsResult(v, val, test, trained, best_test)
    return out


def curves_frame(results: dict[str, RoundsResult]) -> pd.DataFrame:
    """Long table of the curves: variant, n, mean/std of incumbent test and val accuracy."""
    parts = []
    for name, res in results.items():
        n = res.val.shape[1]
        parts.append(
            pd.DataFrame(
                {
                    "variant": name,
                    "n": np.arange(1, n + 1),
                    "mean_test": res.mean("test"),
                    "std_test": res.std("test"),
                    "mean_val": res.mean("val"),
                    "std_val": res.std("val"),
                    "mean_best_test": res.mean("best_test"),
                    "std_best_test": res.std("best_test"),
                }
            )
        )
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            columns=["variant", "n", "mean_test", "std_test", "mean_val", "std_val", "mean_best_test", "std_best_test"]
        )
    )


def first_reach(curve: np.ndarray, target: float, tol: float = 1e-9) -> int | None:
    """Smallest n (1-based) with ``curve[n-1] >= target`` (None if never or target is NaN)."""
    if not np.isfinite(target):
        return None
    hit = np.flatnonzero(np.asarray(curve) >= target - tol)
    return int(hit[0]) + 1 if len(hit) else None


REPORTS = {
    "test": "Incumbent = the trained architecture with the best validation accuracy so far; its test accuracy "
    "is reported (what would be deployed)",
    "val": "Incumbent = the trained architecture with the best validation accuracy so far; its validation "
    "accuracy is reported",
    "best_test": "The best test accuracy among the trained architectures is reported (the curve of Abdelfattah "
    "et al.'s notebook; an oracle number, not a model one could pick on validation)",
}


def speedup_table(results: dict[str, RoundsResult], baselines: dict[str, str], which: str = "test") -> pd.DataFrame:
    """One row per variant: final mean/std accuracy at the budget (``which``: the incumbent's test or
    val accuracy, or the best test accuracy trained so far), the baseline's final mean A, the first n
    where the variant's mean curve reaches A, and speed-up = budget / n."""
    if which not in REPORTS:
        raise UsageError(f"unknown report {which!r} (choose from {', '.join(REPORTS)})")
    rows = []
    for name, res in results.items():
        base = baselines[name]
        if base not in results:
            raise UsageError(f"baseline {base!r} was not run (variants: {', '.join(results)})")
        budget = res.val.shape[1]
        target = float(results[base].mean(which)[-1])
        n = first_reach(res.mean(which), target)
        rows.append(
            {
                "variant": name,
                "baseline": base,
                "rounds": res.val.shape[0],
                "budget": budget,
                f"final_{which}": float(res.mean(which)[-1]),
                f"std_{which}": float(res.std(which)[-1]),
                "final_val": float(res.mean("val")[-1]),
                "std_val": float(res.std("val")[-1]),
                "baseline_final": target,
                "models_to_baseline": n if n is not None else "—",
                "speedup": budget / n if n is not None else float("nan"),
            }
        )
    df = pd.DataFrame(rows)
    counts_repeats = any(r.variant.settings.count_repeats for r in results.values())
    what = (REPORTS[which] + ", mean ± std over rounds. ") + (
        "A trained model = one query of the benchmark, repeats included (the notebook's count). "
        if counts_repeats
        else "A trained model = one distinct architecture whose accuracy was read. "
    )
    df.attrs["caption"] = what + (
        "models_to_baseline = first n at which the variant's mean curve reaches the baseline's final mean "
        "(baseline_final); speedup = budget / that n (– if never)."
    )
    return df
