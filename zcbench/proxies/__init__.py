"""Zero-cost proxies, one module each, registered by name (``zcbench proxies`` lists them)."""

from __future__ import annotations

import importlib
import pkgutil

from .base import PROXIES, Option, ProxyContext, ProxySpec, Selection, get_proxy, register_proxy, select_proxies

# Import every proxy module in this package so that each registers itself, then installed plugins
# (the ``zcbench.proxies`` entry-point group; see zcbench.proxies.plugins).
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in {"base", "runner", "utils", "plugins", "shared_passes"} and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

from .plugins import load_entry_points  # noqa: E402 - after the built-ins, which plugins may not shadow

load_entry_points()

__all__ = [
    "PROXIES",
    "Option",
    "ProxyContext",
    "ProxySpec",
    "Selection",
    "get_proxy",
    "register_proxy",
    "select_proxies",
]
