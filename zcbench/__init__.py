"""zcbench: zero-cost NAS proxies on the real NAS benchmarks.

The Python API (``zcbench.api``, docs/api.md) is available at the top level — ``zcbench.score``,
``zcbench.load_results``, ``zcbench.correlate``... — and loaded on first use, so that ``import zcbench``
(and the CLI's start-up) stays light. ``register_proxy`` and ``Option`` are there too, for plugin files.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# the Python API (zcbench.api defines them; its __all__ is this tuple)
API = (
    "ArchSelection", "Execution", "OpenSpace", "RunSettings", "agreement", "compare", "compare_paper", "correlate",
    "import_scores", "list_proxies", "list_spaces", "load_results", "open_space", "predict", "score", "status",
    "ties",
)  # fmt: skip
_LAZY = {
    **dict.fromkeys(API, "zcbench.api"),
    "register_proxy": "zcbench.proxies.base",
    "Option": "zcbench.proxies.base",
    "ProxyContext": "zcbench.proxies.base",
    "Bootstrap": "zcbench.report.significance",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zcbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
