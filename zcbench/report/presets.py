"""Finding and reading the YAML presets: correlation protocols, paper figures, search settings.

The built-in presets are package data (``zcbench/configs/<kind dir>/<name>.yaml``, read with
:mod:`importlib.resources`), so an editable checkout and a regular install find the same files without
any path search. ``$ZCBENCH_CONFIGS`` names a user's own preset directory with the same layout
(``protocols/``, ``papers/``, ``search/``, ``predict/``); a preset there wins over a built-in one of the same name.
A name ending in ``.yaml``/``.yml`` is a file path and is read as given.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

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
