"""Published per-architecture proxy scores, read into zcbench's vocabulary (``zcbench import``).

* :mod:`.base`: :class:`ImportedRun` (what every reader returns), ``file_sha256``, ``detect``;
* :mod:`.naslib`: ``read_suite_zero`` for NAS-Bench-Suite-Zero's ``zc_<benchmark>.json``;
* :mod:`.abdelfattah`: ``read_abdelfattah`` for Abdelfattah et al.'s ``nb2_*.p`` / NB101 pickles;
* :mod:`.agreement`: the per-source transform table and the ours-vs-theirs agreement report
  (import it from the submodule: ``from zcbench.imports.agreement import agreement``).

Names are loaded on first use, so importing this package does not import torch (the readers need
the spaces, which do).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ImportedRun": "base",
    "file_sha256": "base",
    "detect": "base",
    "read_suite_zero": "naslib",
    "read_abdelfattah": "abdelfattah",
    "read_all_graphs": "abdelfattah",
    "transform_for": "agreement",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
