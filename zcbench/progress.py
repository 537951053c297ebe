"""One progress-bar convention for every wait longer than a few seconds.

Bars go to stderr (stdout stays machine-readable: tables, CSV, JSON), and only when stderr is a
terminal (tqdm's ``disable=None``), so logs, pipes and tests see nothing. ``ZCBENCH_PROGRESS=0``
turns them off everywhere, ``=1`` forces them on (e.g. under ``script`` or a notebook).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _disable(quiet: bool) -> bool | None:
    if quiet:
        return True
    flag = os.environ.get("ZCBENCH_PROGRESS", "").strip()
    if flag == "0":
        return True
    if flag == "1":
        return False
    return None  # tqdm: on when stderr is a TTY


def bar(total: int | None = None, desc: str = "", unit: str = "it", quiet: bool = False, **kw):
    """A tqdm bar on stderr following the convention above (use as a context manager)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=_disable(quiet),
        dynamic_ncols=True,
        leave=False,
        **kw,
    )


def track(
    items: Iterable[T], desc: str = "", total: int | None = None, unit: str = "it", quiet: bool = False
) -> Iterator[T]:
    """``items`` wrapped in a progress bar (``total`` defaults to ``len(items)`` where defined)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with bar(total=total, desc=desc, unit=unit, quiet=quiet) as b:
        for item in items:
            yield item
            b.update(1)
