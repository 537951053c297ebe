"""Settings of ``zcbench search``: the keys a config file (``configs/search/*.yaml``) may hold,
their defaults, and how a file or preset name is read. Every key is documented in docs/search.md."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError

# config key -> (type, default); every key is documented in docs/search.md
CONFIG_KEYS: dict[str, tuple[type, Any]] = {
    "space": (str, None),
    "dataset": (list, None),  # one or more; each is searched in turn
    "proxy": (list, None),
    "algo": (list, ["random", "ae"]),
    "warmup": (int, 0),
    "move": (float, 0.0),
    "budget": (int, 300),
    "rounds": (int, 10),
    "seed": (int, 0),
    "population": (int, 64),
    "sample": (int, 10),
    "cycles": (int, 1000),
    "candidates": (int, 100),
    "min_train": (int, 10),
    "model": (str, "rf"),
    "features": (str, "encoding+zc"),
    "offspring": (int, 10),
    "explore": (float, 0.2),
    "dump": (str, None),
    "baseline": (str, None),
    "count": (str, "distinct"),
    "report": (str, "incumbent"),
    "published": (dict, None),  # {source, variant, <dataset>: {val, test}}: the paper's numbers beside ours
}
COUNTS = ("distinct", "queries")  # what one trained model is: a new architecture, or any query (the notebook)
REPORTS = {"incumbent": "test", "best-test": "best_test", "val": "val"}  # report -> curve (speedup.REPORTS)


# numeric key -> (smallest value that makes sense, largest or None); every number a config may hold
BOUNDS: dict[str, tuple[float, float | None]] = {
    "warmup": (0, None),  # 0 = off
    "move": (0.0, 1.0),  # a probability; 0 = off
    "budget": (1, None),
    "rounds": (1, None),
    "seed": (0, None),  # numpy's generators take no negative seed
    "population": (1, None),
    "sample": (1, None),
    "cycles": (0, None),  # 0 = train the proxy's best of the initial population
    "candidates": (1, None),
    "min_train": (0, None),  # the initial population is trained first, so the predictor always has data
    "offspring": (1, None),
    "explore": (0.0, 1.0),  # a share of each generation's trained offspring
}


def check_choices(cfg: dict[str, Any]) -> None:
    """Every setting is usable, whether it came from an option or a config file (click checks neither
    the file nor the merged result): ``count``/``report`` name one of their choices and every number
    lies in its :data:`BOUNDS`. Called before the results file is read."""
    if cfg["count"] not in COUNTS:
        raise UsageError(f"count must be one of {', '.join(COUNTS)}, got {cfg['count']!r}")
    if cfg["report"] not in REPORTS:
        raise UsageError(f"report must be one of {', '.join(REPORTS)}, got {cfg['report']!r}")
    _check_predictor(cfg)
    check_published(cfg.get("published"))
    for key, (lo, hi) in BOUNDS.items():
        value, opt = cfg.get(key), "--" + key.replace("_", "-")
        if value is None:
            continue
        typ = CONFIG_KEYS[key][0]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (typ is int and value != int(value)):
            raise UsageError(f"{key} ({opt}) must be a{'n integer' if typ is int else ' number'}, got {value!r}")
        if value < lo or (hi is not None and value > hi):
            bound = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
            raise UsageError(f"{key} ({opt}) must be {bound}, got {value!r}")


def _check_predictor(cfg: dict[str, Any]) -> None:
    from ..predictors.features import FEATURE_SETS
    from ..predictors.models import MODELS

    MODELS.get(cfg["model"])
    if cfg["features"] not in FEATURE_SETS:
        raise UsageError(f"features must be one of {', '.join(FEATURE_SETS)}, got {cfg['features']!r}")


def check_published(published: Any) -> None:
    """``published``: ``{source: text, variant: name, <dataset>: {val: float, test: float}, ...}``."""
    if published is None:
        return
    if not isinstance(published, dict):
        raise UsageError(f"published must be a mapping of datasets to {{val, test}}, got {published!r}")
    for key, cell in published.items():
        if key in ("source", "variant"):
            continue
        if not isinstance(cell, dict) or set(cell) - {"val", "test"} or not cell:
            raise UsageError(f"published {key}: give {{val: ..., test: ...}}, got {cell!r}")
        for k, v in cell.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UsageError(f"published {key} {k} must be a number, got {v!r}")


def defaults() -> dict[str, Any]:
    """Every key with its default (a fresh dict: callers update it)."""
    return {k: (list(d) if isinstance(d, list) else d) for k, (_, d) in CONFIG_KEYS.items()}


def read_config(path: str | None) -> dict[str, Any]:
    """The YAML settings file or a preset name (configs/search/NAME.yaml): a mapping of CONFIG_KEYS (others
    are an error, to catch typos)."""
    from ..report.presets import read_settings  # the lookup the correlation presets use

    return read_settings(path, "search", CONFIG_KEYS, convert, ("description", "source"))


def convert(key: str, value: Any, where: str) -> Any:
    """A setting in the type CONFIG_KEYS gives it (a list from one value too); one line when it cannot be."""
    typ = CONFIG_KEYS[key][0]
    try:
        if typ is list:
            return [str(x) for x in (value if isinstance(value, (list, tuple)) else [value])]
        if typ is dict and not isinstance(value, dict):
            raise TypeError(value)
        return typ(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {key} must be a {typ.__name__}, got {value!r}") from None


def resolve_config(path: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """The settings of one search: defaults < the config file ``path`` < ``given`` (options or API keywords;
    None or empty = not given), checked (:func:`check_choices`, algorithm names expanded) before any
    results are read."""
    from ..report.presets import layer_settings
    from .algorithms import ALGORITHMS

    cfg = layer_settings("search", CONFIG_KEYS, defaults(), read_config(path), given, convert)
    check_choices(cfg)
    cfg["algo"] = ALGORITHMS.select(cfg["algo"])  # unknown names fail before any file is read
    return cfg
