"""``zcbench`` command line: the group lives in ``app``; importing the modules attaches commands.

Every command module imports only click and light modules at import time (see ``app``), so importing
them all costs milliseconds; a missing module is a bug and fails loudly.
"""

from __future__ import annotations

from . import bench, compare, download, imports, info, predict, report, score, search, store  # noqa: F401 (commands)
from .app import main

__all__ = ["main"]
