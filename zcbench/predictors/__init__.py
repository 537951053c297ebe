"""Proxies as predictor features: how well a model trained on N architectures ranks M others.

``features`` builds the inputs (the space's encoding, proxy scores, or both), ``models`` registers the
regressors (scikit-learn and XGBoost), ``evaluation`` runs the seeded train/test trials, ``config`` reads the
presets (``configs/predict/``), ``run`` ties them to a results frame and ``plot`` draws the learning curve.
``zcbench search``'s predictor-evolution takes its models and features from here. Nothing here imports torch
unless an encoding is asked for (the spaces compute it).
"""

from __future__ import annotations

from .config import CONFIG_KEYS, read_config, resolve
from .evaluation import COLUMNS, PredictSettings, compare_published, evaluate
from .features import FEATURE_SETS, Pool, pool_from_frame, rank_standardise, zc_matrix
from .models import MODELS, ModelSpec, Predictor, make_predictor, register_model
from .run import predict_frame

__all__ = [
    "CONFIG_KEYS",
    "COLUMNS",
    "FEATURE_SETS",
    "MODELS",
    "ModelSpec",
    "Pool",
    "PredictSettings",
    "Predictor",
    "compare_published",
    "evaluate",
    "make_predictor",
    "pool_from_frame",
    "predict_frame",
    "rank_standardise",
    "read_config",
    "register_model",
    "resolve",
    "zc_matrix",
]
