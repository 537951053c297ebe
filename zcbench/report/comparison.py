"""``zcbench compare`` and ``zc.compare``/``zc.ties``: one set of checks, then the paired bootstrap.

The command line and the Python API call these two functions, so a bad input gets the same one-line
message from both, before any resampling: an unknown proxy (naming those the file has), A equal to B, a
``--space``/``--dataset`` that matches nothing, no (space, dataset) holding what the comparison needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import UsageError
from ..store.columns import proxy_columns
from .aggregate import with_aggregates
from .significance import Bootstrap, compare_table, tie_table

TARGET_COLUMNS = {"val": "val_accuracy", "test": "test_accuracy"}


def _target_column(target: str) -> str:
    if target not in TARGET_COLUMNS:
        raise UsageError(f"unknown target {target!r} (choose from {', '.join(TARGET_COLUMNS)})")
    return TARGET_COLUMNS[target]


def _select(
    frame: pd.DataFrame, names: Sequence[str], spaces: Sequence[str], datasets: Sequence[str], where: str
) -> tuple[pd.DataFrame, str]:
    """The rows of ``spaces`` × ``datasets`` (population proxies ranked within each table) after checking every
    name exists; the second value says what the file has, for the messages about an empty selection."""
    frame = with_aggregates(frame)
    have = proxy_columns(frame)
    unknown = [p for p in names if p not in have]
    if unknown:
        raise UsageError(f"unknown proxy {', '.join(unknown)} in {where} (have: {', '.join(have) or 'none'})")
    pairs = ", ".join(sorted({f"{s}/{d}" for s, d in zip(frame["space"], frame["dataset"])})) or "nothing"
    unmatched = [v for v in spaces if v not in set(frame["space"])]
    unmatched += [v for v in datasets if v not in set(frame["dataset"])]
    if unmatched:  # a typo in a selector must not pass for a smaller comparison
        raise UsageError(f"no (space, dataset) of {where} holds {', '.join(unmatched)} (it has {pairs})")
    if spaces:
        frame = frame[frame["space"].isin(spaces)]
    if datasets:
        frame = frame[frame["dataset"].isin(datasets)]
    picked = f" (--space/--dataset: {', '.join([*spaces, *datasets])}; it has {pairs})" if spaces or datasets else ""
    return frame, picked


def compare_pair(
    frame: pd.DataFrame,
    a: str,
    b: str,
    *,
    target: str = "val",
    spaces: Sequence[str] = (),
    datasets: Sequence[str] = (),
    boot: Bootstrap | None = None,
    where: str = "the results",
) -> pd.DataFrame:
    """The paired bootstrap of ``a`` against ``b`` in every (space, dataset) holding both and the target:
    one row each with the verdict, the conventions as columns, and the method in ``attrs['caption']``."""
    boot = (boot or Bootstrap()).validated()
    tcol = _target_column(target)
    if a == b:
        raise UsageError(f"A and B are the same proxy ({a}); compare two different proxies")
    frame, picked = _select(frame, [a, b], list(spaces), list(datasets), where)
    table = compare_table(frame, a, b, tcol, boot)
    if table.empty:
        raise UsageError(f"no (space, dataset) of {where} holds {a}, {b} and {target} accuracies{picked}")
    table["target"] = target
    table.attrs["caption"] = boot.caption(tcol)
    return table


def compare_ties(
    frame: pd.DataFrame,
    proxies: Sequence[str] = (),
    *,
    target: str = "val",
    spaces: Sequence[str] = (),
    datasets: Sequence[str] = (),
    boot: Bootstrap | None = None,
    where: str = "the results",
) -> pd.DataFrame:
    """Per (space, dataset): every proxy (or ``proxies``) against the best one, ``tied_with_best`` where the
    paired interval of their difference contains 0; the conventions as columns."""
    boot = (boot or Bootstrap()).validated()
    tcol = _target_column(target)
    frame, picked = _select(frame, list(proxies), list(spaces), list(datasets), where)
    table = tie_table(frame, list(proxies) or None, tcol, boot)
    if table.empty:
        raise UsageError(f"no (space, dataset) of {where} has proxy scores{picked}")
    caption = table.attrs["caption"]
    table = table.assign(
        score_nan=boot.score_nan, target=target, confidence=boot.confidence, resamples=boot.resamples, seed=boot.seed
    )
    table.attrs["caption"] = caption
    return table
