"""A bagged ridge-regression predictor in numpy (closed form), for predictor-assisted evolution.

Small on purpose: PRE-NAS-style search only needs a ranking of a handful of candidate children,
fitted on at most a few hundred trained architectures, refitted every step.
"""

from __future__ import annotations

import numpy as np


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, float]:
    """Weights and intercept of ridge regression (intercept not penalised): solve
    (Xc^T Xc + alpha I) w = Xc^T yc on centred data."""
    xm, ym = x.mean(axis=0), y.mean()
    xc, yc = x - xm, y - ym
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return w, float(ym - xm @ w)


class BaggedRidge:
    """Mean prediction of ``n_models`` ridge models, each fitted on a bootstrap resample
    (``n_models=1``: one ridge on all data)."""

    def __init__(self, alpha: float = 1.0, n_models: int = 5) -> None:
        self.alpha = float(alpha)
        self.n_models = int(n_models)
        self.models: list[tuple[np.ndarray, float]] = []

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> BaggedRidge:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.models = []
        for _ in range(self.n_models):
            idx = np.arange(len(y)) if self.n_models == 1 else rng.integers(0, len(y), len(y))
            self.models.append(fit_ridge(x[idx], y[idx], self.alpha))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.mean([x @ w + b for w, b in self.models], axis=0)


def rank_standardise(scores: np.ndarray) -> np.ndarray:
    """Per column: rank within the domain (NaN lowest), then z-score. Ranks, because raw proxies
    such as synflow span many orders of magnitude and would swamp a linear model."""
    scores = np.asarray(scores, dtype=float)
    out = np.zeros_like(scores)
    for c in range(scores.shape[1]):
        col = np.where(np.isnan(scores[:, c]), -np.inf, scores[:, c])
        r = np.argsort(np.argsort(col, kind="stable"), kind="stable").astype(float)
        sd = r.std()
        out[:, c] = (r - r.mean()) / sd if sd > 0 else 0.0
    return out
