"""Fetch every benchmark dump and image set of data/README.md, verified (``zcbench download``).

``catalog`` (what exists: ``catalog.yaml``), ``fetch`` (bytes via pooch/requests/gdown), ``verify``
(checksums and structure checks), ``unpack`` (safe extraction, atomic install), ``lockfile``
(``DIR/zcbench-downloads.json``) and ``core`` (the plan and its execution). Nothing here imports
torch, pooch or gdown at import time.
"""

from __future__ import annotations

from .catalog import CATALOG_ENV, load_catalog
from .core import download, list_entries
from .lockfile import LOCK_NAME

__all__ = ["CATALOG_ENV", "LOCK_NAME", "download", "list_entries", "load_catalog"]
