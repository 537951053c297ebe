"""Finding and reading the YAML presets: correlation protocols, paper figures, search settings.

The built-in presets are package data (``zcbench/configs/<kind dir>/<name>.yaml``, read with
:mod:`importlib.resources`), so an editable checkout and a regular install find the same files without
any path search. ``$ZCBENCH_CONFIGS`` names a user's own preset directory with the same layout
(``protocols/``, ``papers/``, ``search/``, ``predict/``); a preset there wins over a built-in one of the same name.
A name ending in ``.yaml``/``.yml`` is a file path and is read as given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import UsageError

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+; only the annotations need it
    from importlib.resources.abc import Traversable

ENV = "ZCBENCH_CONFIGS"
# kind -> (directory under configs/, how an error message names one)
KINDS = {
    "protocol": ("protocols", "protocol"),
    "paper": ("papers", "paper"),
    "search": ("search", "search config"),
    "predict": ("predict", "predict config"),
}


def _kind(kind: str) -> tuple[str, str]:
    if kind not in KINDS:
        raise ValueError(f"unknown preset kind {kind!r} (one of {', '.join(KINDS)})")
    return KINDS[kind]


def preset_dirs(kind: str) -> list[Traversable]:
    """Where presets of ``kind`` are looked up, first match wins: the user's directory, then the built-ins."""
    sub, _ = _kind(kind)
    dirs: list[Traversable] = []
    if os.environ.get(ENV):
        dirs.append(Path(os.environ[ENV]) / sub)
    dirs.append(files("zcbench") / "configs" / sub)
    return dirs


def find_preset(kind: str, name: str) -> Traversable:
    """The preset file for a name (or the file itself for a ``.yaml``/``.yml`` path)."""
    _, label = _kind(kind)
    p = Path(name)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise UsageError(f"{label} file {name} does not exist")
        return p
    if p.name == name:  # a bare name, never a path that could leave the preset directory
        for d in preset_dirs(kind):
            cand = d / f"{name}.yaml"
            if cand.is_file():
                return cand
    raise UsageError(f"unknown {label} {name!r} (known: {', '.join(list_presets(kind)) or 'none found'})")


def list_presets(kind: str) -> list[str]:
    """Names of the presets of ``kind`` that can be found (user directory and built-ins)."""
    names = set()
    for d in preset_dirs(kind):
        if d.is_dir():
            names.update(preset_name(c) for c in d.iterdir() if c.name.endswith(".yaml") and c.is_file())
    return sorted(names)


def preset_name(source: Traversable) -> str:
    """A preset's default name: its file name without ``.yaml``."""
    return Path(source.name).stem


def read_yaml(source: Traversable) -> dict:
    """A preset's mapping; an unreadable file or one that is not a mapping is a one-line error."""
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise UsageError(f"cannot read {source}: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{source} is not a YAML mapping")
    return data


def read_settings(
    path: str | None, kind: str, keys: Mapping[str, Any], convert: Callable[[str, Any, str], Any], free_text=()
) -> dict[str, Any]:
    """A settings file or the name of a ``kind`` preset: a mapping of ``keys`` (others are an error, to catch
    typos; ``free_text`` keys are documentation and dropped), each value through ``convert(key, value, where)``."""
    if not path:
        return {}
    p = Path(path)
    data = read_yaml(p if p.is_file() else find_preset(kind, path))
    for k in free_text:
        data.pop(k, None)
    bad = sorted(set(data) - set(keys))
    if bad:
        raise UsageError(f"{path}: unknown key(s) {', '.join(bad)} (known: {', '.join(keys)})")
    return {k: convert(k, v, str(path)) for k, v in data.items()}


def layer_settings(
    what: str,
    keys: Mapping[str, Any],
    defaults: Mapping[str, Any],
    from_file: Mapping[str, Any],
    given: Mapping[str, Any],
    convert: Callable[[str, Any, str], Any],
) -> dict[str, Any]:
    """defaults < the settings file < ``given`` (options or API keywords; None or empty = not given); an
    unknown ``given`` key is an error naming ``what`` (``search``, ``predict``)."""
    bad = sorted(set(given) - set(keys))
    if bad:
        raise UsageError(f"unknown {what} setting(s) {', '.join(bad)} (known: {', '.join(keys)})")
    cfg = dict(defaults)
    cfg.update(from_file)
    cfg.update({k: convert(k, v, "option") for k, v in given.items() if v is not None and v != [] and v != ()})
    return cfg
