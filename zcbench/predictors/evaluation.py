"""How well a predictor ranks architectures it has not seen: seeded trials of train N / test M.

Trial t draws with ``numpy.random.default_rng(seed + t)`` one permutation of the pool: its first M
architectures are the test set, the next N the training set — disjoint, and for a learning curve
(``train=(10, 20, 50)``) the smaller training sets are prefixes of the larger ones and every size is
tested on the same M architectures, so the curve compares like with like. Every (feature set, model)
sees the same draws. Each model is seeded with ``seed + t`` too.

The score of a trial is Spearman ρ and Kendall τ (tau-b, scipy) between the predictions and the
validation accuracies of the test set; the table gives their mean and (population, ddof=0) standard
deviation over trials, as NAS-Bench-Suite-Zero's "0.908 ± 0.012".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..progress import bar
from ..report import stats
from .features import Pool, check_features, uses_zc
from .models import MODELS, check_model, check_params, make_predictor

COLUMNS = (
    "features", "model", "train", "test", "trials", "spearman_mean", "spearman_std", "kendall_mean", "kendall_std",
)  # fmt: skip


@dataclass(frozen=True)
class PredictSettings:
    """What ``zcbench predict`` evaluates; every field is a key of its config files (docs/predict.md)."""

    features: tuple[str, ...] = ("encoding+zc",)
    models: tuple[str, ...] = ("xgb",)
    train: tuple[int, ...] = (100,)
    test: int = 1000
    trials: int = 100
    seed: int = 0
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> settings overriding its defaults

    def checked(self) -> PredictSettings:
        """These settings with names expanded, or a one-line UsageError — before any results are read."""
        features = tuple(check_features(self.features))
        models = tuple(MODELS.select(self.models or ("xgb",)))
        params = check_params(self.params)
        train = tuple(sorted({_count(n, "--train") for n in self.train}))
        if not train:
            raise UsageError("give at least one --train size")
        test, trials, seed = _count(self.test, "--test"), _count(self.trials, "--trials"), int(self.seed)
        if seed < 0:
            raise UsageError(f"--seed must be at least 0, got {seed}")
        if train[0] < 2:
            raise UsageError(f"--train must be at least 2 architectures, got {train[0]}")
        if test < 2:
            raise UsageError(f"--test must be at least 2 architectures (a rank correlation needs two), got {test}")
        for m in models:
            check_model(m, params.get(m))
        return PredictSettings(features, models, train, test, trials, seed, params)

    @property
    def needs_zc(self) -> bool:
        return any(uses_zc(f) for f in self.features)


def _count(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) and not str(value).strip().isdigit():
        raise UsageError(f"{option} must be a whole number, got {value!r}")
    n = int(value)
    if n < 1:
        raise UsageError(f"{option} must be at least 1, got {n}")
    return n


def check_sizes(pool: Pool, s: PredictSettings) -> None:
    """The draws fit in the pool: test + the largest training set (one line otherwise, before any fit)."""
    n, need = len(pool), s.test + max(s.train)
    where = f"{pool.space}/{pool.dataset}"
    if s.test >= n:
        raise UsageError(f"--test {s.test} asks for more test architectures than {where} has ({n} with accuracies)")
    if need > n:
        raise UsageError(
            f"--test {s.test} + --train {max(s.train)} = {need} architectures, more than {where} has ({n} with "
            "accuracies); the training and test sets are disjoint"
        )


def draw(n: int, s: PredictSettings, trial: int) -> tuple[np.ndarray, np.ndarray]:
    """(test indices, training order) of one trial: the training set of size N is ``order[:N]``."""
    perm = np.random.default_rng(s.seed + trial).permutation(n)
    return perm[: s.test], perm[s.test : s.test + max(s.train)]


def score_trial(pool: Pool, s: PredictSettings, trial: int) -> dict[tuple[str, str, int], tuple[float, float]]:
    """ρ and τ of every (feature set, model, N) in trial ``trial``."""
    test, order = draw(len(pool), s, trial)
    out = {}
    for model in s.models:
        spec = MODELS.get(model)
        for features in s.features:
            x = pool.matrix(features, spec.zc_input)
            for n in s.train:
                train = order[:n]
                pred = make_predictor(model, s.seed + trial, s.params.get(model)).fit(x[train], pool.val[train])
                p = pred.predict(x[test])
                out[features, model, n] = (stats.spearman(p, pool.val[test]), stats.kendall(p, pool.val[test]))
    return out


def evaluate(pool: Pool, settings: PredictSettings) -> pd.DataFrame:
    """One row per (feature set, model, training size): mean and std over trials of ρ and τ (COLUMNS).
    ``df.attrs['trials']`` holds every trial's (ρ, τ) per row key; ``df.attrs['caption']`` the protocol."""
    s = settings.checked()
    check_sizes(pool, s)
    per: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    fits = len(s.models) * len(s.features) * len(s.train)
    with bar(total=s.trials * fits, desc="predict", unit="fit") as progress:
        for t in range(s.trials):
            for key, value in score_trial(pool, s, t).items():
                per.setdefault(key, []).append(value)
            progress.update(fits)
    rows = []
    for model in s.models:
        for features in s.features:
            for n in s.train:
                v = np.array(per[features, model, n], dtype=float)
                rows.append(
                    dict(zip(COLUMNS, (features, model, n, s.test, s.trials, *_mean_std(v[:, 0]), *_mean_std(v[:, 1]))))
                )
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df.attrs["trials"] = per
    df.attrs["caption"] = caption(pool, s)
    return df


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and population std over trials, NaN trials (an undefined correlation) left out."""
    v = values[np.isfinite(values)]
    return (float(v.mean()), float(v.std())) if v.size else (float("nan"), float("nan"))


def caption(pool: Pool, s: PredictSettings) -> str:
    zc = ", ".join(pool.proxies) if pool.proxies else "none"
    left = f"; {pool.dropped} left out for a missing score" if pool.dropped else ""
    return (
        f"{pool.space}/{pool.dataset}: {len(pool)} architectures with a validation accuracy{left}. Each of "
        f"{s.trials} trials (seeds {s.seed}..{s.seed + s.trials - 1}) draws {s.test} test and "
        f"{'/'.join(map(str, s.train))} training architectures, disjoint; Spearman ρ and Kendall τ of the "
        f"predictions against validation accuracy on the test set, mean ± std over trials. Proxy features: {zc} "
        "(raw values for xgb and rf, standardised ranks within the pool for the other models)."
    )


def compare_published(table: pd.DataFrame, published: Sequence[dict[str, Any]] | None) -> pd.DataFrame:
    """``table`` with the published ρ beside ours: ``paper_spearman``, ``paper_std``, ``delta`` (ours −
    paper) on the rows a published entry names by features, model and train (NaN elsewhere)."""
    if not published:
        return table
    out = table.copy()
    out["paper_spearman"], out["paper_std"] = np.nan, np.nan
    for entry in published:
        same = out["features"] == entry["features"], out["model"] == entry["model"], out["train"] == entry["train"]
        hit = same[0] & same[1] & same[2]
        out.loc[hit, "paper_spearman"] = float(entry["spearman"])
        out.loc[hit, "paper_std"] = float(entry.get("std", np.nan))
    out["delta"] = out["spearman_mean"] - out["paper_spearman"]
    out.attrs = dict(table.attrs)
    out.attrs["caption"] = (
        table.attrs.get("caption", "") + " paper_spearman ± paper_std: the published ρ these settings compare "
        "with (the preset names its source); delta = ours − paper."
    )
    return out
