"""Zero-cost search: proxies as warm-up, move proposal, zero-shot fitness or predictor features,
measured in trained models on a results file that holds proxy scores and accuracies.

Data flows one way: results store -> ``load_frame`` -> :class:`SearchProblem` -> algorithms ->
curves and the speed-up table (``run.search_results``). No proxy is computed here; a dump is read only
when ``dump`` asks for the accuracies search papers report (NB201 CIFAR-10's train+valid test accuracy).
Predictor-evolution's models and features come from :mod:`zcbench.predictors`.
"""

from __future__ import annotations

from .algorithms import ALGORITHMS, Algorithm, SearchSettings, register_algorithm
from .config import CONFIG_KEYS, COUNTS, REPORTS, check_choices, defaults, read_config, resolve_config
from .problem import SearchProblem, TrainedCounter, problem_from_frame
from .run import SearchReport, search_results
from .speedup import (
    RoundsResult,
    Variant,
    curves_frame,
    default_baseline,
    first_reach,
    make_variants,
    plan_variants,
    run_search,
    speedup_table,
)

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "SearchSettings",
    "register_algorithm",
    "SearchProblem",
    "TrainedCounter",
    "problem_from_frame",
    "RoundsResult",
    "Variant",
    "curves_frame",
    "default_baseline",
    "first_reach",
    "make_variants",
    "plan_variants",
    "run_search",
    "speedup_table",
    "CONFIG_KEYS",
    "COUNTS",
    "REPORTS",
    "check_choices",
    "defaults",
    "read_config",
    "resolve_config",
    "SearchReport",
    "search_results",
]
