"""Performance predictors, registered by name (``--model xgb``) in the manner of timm's ``@register_model``.

Every model is a well-kept library's regressor — scikit-learn's random forest, Gaussian process, ridge,
SVR and MLP (the predictor families PRE-NAS compares), and XGBoost (NAS-Bench-Suite-Zero's) — built by a
small factory next to its metadata:

* ``zc_input``: how proxy columns reach the model. Trees (``xgb``, ``rf``) take the **raw** scores, as
  Suite-Zero's XGBoost did: a tree only compares values, so the span of a score does not matter. The
  others take each proxy's **rank** within the pool, standardised: raw synflow spans tens of orders of
  magnitude and would swamp a kernel, a linear model or a network.
* every model is fitted on the standardised target ``(y - mean) / std`` and predicts on that scale
  (NASLib's tree predictors standardise the same way); rank correlations do not see the difference.

scikit-learn is a core dependency (``zcbench search`` uses a predictor); XGBoost is the ``xgboost`` extra,
imported only when ``xgb`` is fitted, with a one-line error naming the extra when it is missing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UsageError
from ..registry import Registry

ZC_INPUTS = ("raw", "rank")


@dataclass(frozen=True)
class ModelSpec:
    """A registered predictor: ``make(seed, params)`` returns an unfitted regressor with fit/predict."""

    name: str
    make: Callable[[int, dict[str, Any]], Any]
    zc_input: str
    summary: str
    library: str = "scikit-learn"
    defaults: dict[str, Any] = field(default_factory=dict)


MODELS: Registry[ModelSpec] = Registry("predictor model")


def register_model(name: str, zc_input: str, summary: str, library: str = "scikit-learn", **defaults: Any):
    """Decorator: register ``fn(seed, params) -> regressor`` as model ``name`` (``defaults``: its settings)."""
    if zc_input not in ZC_INPUTS:
        raise ValueError(f"zc_input must be one of {ZC_INPUTS}")

    def deco(fn: Callable[[int, dict[str, Any]], Any]) -> Callable[[int, dict[str, Any]], Any]:
        MODELS.add(name, ModelSpec(name, fn, zc_input, summary, library, dict(defaults)))
        return fn

    return deco


# XGBoost with NASLib's defaults (zerocost branch, naslib/predictors/trees/xgb.py: default_hyperparams,
# num_boost_round=500); tree_method "exact" is what xgboost 1.x's "auto" chose for data this small.
XGB_DEFAULTS = {
    "n_estimators": 500,
    "max_depth": 6,
    "min_child_weight": 1,
    "learning_rate": 0.3,
    "colsample_bytree": 1.0,
    "colsample_bylevel": 1.0,
    "objective": "reg:squarederror",
    "booster": "gbtree",
    "tree_method": "exact",
}


@register_model("xgb", "raw", "XGBoost gradient-boosted trees (NAS-Bench-Suite-Zero)", "xgboost", **XGB_DEFAULTS)
def _xgb(seed: int, params: dict[str, Any]):
    try:
        from xgboost import XGBRegressor
    except ImportError:
        raise UsageError("--model xgb needs XGBoost: pip install 'zcbench[xgboost]'") from None
    return XGBRegressor(random_state=seed, n_jobs=1, **params)


@register_model("rf", "raw", "random forest (PRE-NAS's predictor)", n_estimators=100)
def _rf(seed: int, params: dict[str, Any]):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(random_state=seed, n_jobs=1, **params)


@register_model("gp", "rank", "Gaussian process, constant x RBF + white-noise kernel", n_restarts_optimizer=0)
def _gp(seed: int, params: dict[str, Any]):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel(1.0) * RBF(length_scale=1.0) + WhiteKernel(noise_level=0.1)
    return GaussianProcessRegressor(kernel=kernel, random_state=seed, **params)


@register_model("ridge", "rank", "ridge regression (linear, L2)", alpha=1.0)
def _ridge(seed: int, params: dict[str, Any]):
    from sklearn.linear_model import Ridge

    return Ridge(**params)


@register_model("svr", "rank", "support-vector regression, RBF kernel", C=1.0, epsilon=0.1)
def _svr(seed: int, params: dict[str, Any]):
    from sklearn.svm import SVR

    return SVR(**params)


@register_model("mlp", "rank", "multi-layer perceptron, 2 x 64 ReLU, Adam", hidden_layer_sizes=(64, 64), max_iter=500)
def _mlp(seed: int, params: dict[str, Any]):
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(random_state=seed, **params)


class Predictor:
    """One model of ``spec`` fitted on the standardised target; ``predict`` answers on that scale."""

    def __init__(self, spec: ModelSpec, seed: int = 0, params: dict[str, Any] | None = None) -> None:
        self.spec = spec
        self.params = {**spec.defaults, **(params or {})}
        self.seed = int(seed)
        self.model: Any = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> Predictor:
        y = np.asarray(y, dtype=float)
        sd = float(y.std())
        z = (y - y.mean()) / sd if sd > 0 else y - y.mean()
        self.model = self.spec.make(self.seed, dict(self.params))
        with warnings.catch_warnings():  # few points: MLP/GP convergence notes are expected, not news
            warnings.simplefilter("ignore")
            self.model.fit(np.asarray(x, dtype=float), z)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("predictor used before fit")
        return np.asarray(self.model.predict(np.asarray(x, dtype=float)), dtype=float).ravel()


def make_predictor(name: str, seed: int = 0, params: dict[str, Any] | None = None) -> Predictor:
    """An unfitted :class:`Predictor` of the registered model ``name`` (UsageError for an unknown name)."""
    return Predictor(MODELS.get(name), seed, params)


def check_model(name: str, params: dict[str, Any] | None = None) -> None:
    """Refuse, in one line and before any work, a model whose library is missing or whose settings its
    library rejects: the model is fitted once on four made-up points."""
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    try:
        make_predictor(name, 0, params).fit(x, np.array([0.0, 1.0, 2.0, 3.0]))
    except (TypeError, ValueError) as err:  # sklearn's InvalidParameterError and XGBoostError are ValueErrors
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"model {name!r} refuses its settings {params or {}}: {msg}") from None


def check_params(params: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``{model: {setting: value}}`` overrides (a preset's ``params``): known models, mappings of settings."""
    if not params:
        return {}
    if not isinstance(params, dict):
        raise UsageError(f"params must map model names to settings, got {params!r}")
    out = {}
    for name, settings in params.items():
        MODELS.get(str(name))
        if not isinstance(settings, dict):
            raise UsageError(f"params of model {name!r} must be a mapping of settings, got {settings!r}")
        out[str(name)] = dict(settings)
    return out
