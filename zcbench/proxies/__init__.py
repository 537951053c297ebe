"""Zero-cost proxies, one module each, registered by name (``zcbench proxies`` lists them)."""

from __future__ import annotations

import importlib
import pkgutil

from .base import PROXIES, ProxyContext, ProxySpec, get_proxy, register_proxy, select_proxies

# Import every proxy module in this package so that each registers itself.
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in {"base", "runner", "utils"} and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["PROXIES", "ProxyContext", "ProxySpec", "get_proxy", "register_proxy", "select_proxies"]
