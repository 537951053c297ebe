"""``zcbench`` command line: the group lives in ``app``; importing the modules attaches commands."""

from __future__ import annotations

import importlib

from .app import main

for _mod in ("info", "score", "report", "bench", "engine_cmds", "search", "download"):
    try:
        importlib.import_module(f"{__name__}.{_mod}")
    except ModuleNotFoundError as _err:  # a command module still being written is simply absent
        if _err.name != f"{__name__}.{_mod}":
            raise

__all__ = ["main"]
