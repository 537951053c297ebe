"""Settings of ``zcbench predict``: config files and presets (``configs/predict/*.yaml``, e.g.
``suite-zero-xgb``), merged with the options given, checked before any results are read.

A key given as an option (or an API keyword) overrides the file. Every key is documented in docs/predict.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UsageError

# key -> (kind, default); kinds: "str", "int", "list" (of str), "ints" (list of int), "params", "published"
CONFIG_KEYS: dict[str, tuple[str, Any]] = {
    "space": ("str", None),
    "dataset": ("str", None),
    "features": ("list", ["encoding+zc"]),
    "model": ("list", ["xgb"]),
    "train": ("ints", [100]),
    "test": ("int", 1000),
    "trials": ("int", 100),
    "seed": ("int", 0),
    "proxy": ("list", None),  # None: every proxy column with scores for the (space, dataset)
    "source": ("str", None),  # imported scores of this origin (naslib, abdelfattah) under their bare names
    "params": ("params", None),  # {model: {setting: value}}
    "published": ("published", None),  # [{features, model, train, spearman, std}]: ours | paper | Δ
}
FREE_TEXT = ("description", "reference")
PUBLISHED_KEYS = ("features", "model", "train", "spearman", "std")


def defaults() -> dict[str, Any]:
    return {k: (list(d) if isinstance(d, list) else d) for k, (_, d) in CONFIG_KEYS.items()}


def _ints(value: Any, key: str) -> list[int]:
    """``100``, ``[10, 20]`` or ``"10,20,50"`` → a list of ints (one line for anything else)."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit():
            raise UsageError(f"{key} must be whole numbers (e.g. 10,20,50), got {value!r}")
        out.append(int(text))
    return out


def _published(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
        raise UsageError(f"{where}: published must be a list of {{{', '.join(PUBLISHED_KEYS)}}} entries")
    out = []
    for e in value:
        missing = [k for k in PUBLISHED_KEYS if k not in e]
        if missing:
            raise UsageError(f"{where}: a published entry lacks {', '.join(missing)}")
        try:
            out.append({**e, "train": int(e["train"]), "spearman": float(e["spearman"]), "std": float(e["std"])})
        except (TypeError, ValueError):
            raise UsageError(f"{where}: published train/spearman/std must be numbers, got {dict(e)!r}") from None
    return out


def convert(key: str, value: Any, where: str) -> Any:
    """One setting in the form the code uses; a value of the wrong kind is a one-line error."""
    kind = CONFIG_KEYS[key][0]
    if value is None:
        return None
    if kind == "list":
        items = value if isinstance(value, (list, tuple)) else [value]
        return [str(x) for x in items]
    if kind == "ints":
        return _ints(value, key)
    if kind == "published":
        return _published(value, where)
    if kind == "params":
        if not isinstance(value, Mapping):
            raise UsageError(f"{where}: params must map model names to settings, got {value!r}")
        return {str(k): dict(v) if isinstance(v, Mapping) else v for k, v in value.items()}
    if kind == "int":
        if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
            raise UsageError(f"{where}: {key} must be a whole number, got {value!r}")
        return int(value)
    return str(value)


def read_config(path: str | None) -> dict[str, Any]:
    """A settings file or preset name (``configs/predict/NAME.yaml``): a mapping of CONFIG_KEYS."""
    from ..report.presets import read_settings

    return read_settings(path, "predict", CONFIG_KEYS, convert, FREE_TEXT)


def resolve(config: str | None, given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults < the config file < the settings given (None = not given). Unknown keys are an error."""
    from ..report.presets import layer_settings

    return layer_settings("predict", CONFIG_KEYS, defaults(), read_config(config), given, convert)
