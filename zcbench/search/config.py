"""Settings of ``zcbench search``: the keys a config file (``configs/search/*.yaml``) may hold,
their defaults, and how a file or preset name is read. Every key is documented in docs/search.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UsageError

# config key -> (type, default); every key is documented in docs/search.md
CONFIG_KEYS: dict[str, tuple[type, Any]] = {
    "space": (str, None),
    "dataset": (str, None),
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
    "candidates": (int, 20),
    "min_train": (int, 10),
    "baseline": (str, None),
    "count": (str, "distinct"),
    "report": (str, "incumbent"),
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
}


def check_choices(cfg: dict[str, Any]) -> None:
    """Every setting is usable, whether it came from an option or a config file (click checks neither
    the file nor the merged result): ``count``/``report`` name one of their choices and every number
    lies in its :data:`BOUNDS`. Called before the results file is read."""
    if cfg["count"] not in COUNTS:
        raise UsageError(f"count must be one of {', '.join(COUNTS)}, got {cfg['count']!r}")
    if cfg["report"] not in REPORTS:
        raise UsageError(f"report must be one of {', '.join(REPORTS)}, got {cfg['report']!r}")
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


def defaults() -> dict[str, Any]:
    """Every key with its default (a fresh dict: callers update it)."""
    return {k: (list(d) if isinstance(d, list) else d) for k, (_, d) in CONFIG_KEYS.items()}


def read_config(path: str | None) -> dict[str, Any]:
    """The YAML settings file: a mapping of CONFIG_KEYS (others are an error, to catch typos)."""
    if not path:
        return {}
    from ..report.presets import find_preset, read_yaml  # the lookup the correlation presets use

    p = Path(path)
    data = read_yaml(p if p.is_file() else find_preset("search", path))  # a file, else configs/search/NAME.yaml
    data.pop("description", None)
    data.pop("source", None)
    bad = sorted(set(data) - set(CONFIG_KEYS))
    if bad:
        raise UsageError(f"{path}: unknown key(s) {', '.join(bad)} (known: {', '.join(CONFIG_KEYS)})")
    out: dict[str, Any] = {}
    for k, v in data.items():
        typ = CONFIG_KEYS[k][0]
        try:
            out[k] = [str(x) for x in (v if isinstance(v, list) else [v])] if typ is list else typ(v)
        except (TypeError, ValueError):
            raise UsageError(f"{path}: {k} must be a {typ.__name__}, got {v!r}") from None
    return out
