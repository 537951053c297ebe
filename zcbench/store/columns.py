"""The results frame's vocabulary (``zcbench.store.load_frame``): which columns are metadata, which are scores,
and which accuracies each score is to be compared with.

Every run records where its accuracies come from (its *truth*: a dump and schedule, an imported file, or none).
A (space, dataset) table has one pair of accuracy columns, ``val_accuracy``/``test_accuracy``, from its main
truth (zcbench's own runs with a dump; else the imported file). A run whose truth differs — the 12-epoch
accuracies of the same dump, NASLib's accuracies beside the dump's — keeps its own in ``val_accuracy:<proxy>``
and ``test_accuracy:<proxy>``, and every table reads a proxy's target through :func:`target_column`, so a score
is never correlated against another run's accuracies. Runs scored without a dump have no accuracies of their
own and are read against the main ones.
"""

from __future__ import annotations

import pandas as pd

ACCURACY_COLUMNS = ("val_accuracy", "test_accuracy")
META_COLUMNS = ("space", "dataset", "index", "arch", *ACCURACY_COLUMNS)


def own_column(target_col: str, proxy: str) -> str:
    """The column of ``proxy``'s own accuracies (``val_accuracy:synflow@naslib``)."""
    return f"{target_col}:{proxy}"


def is_accuracy_column(column: object) -> bool:
    """A main or a run's own accuracy column."""
    c = str(column)
    return c in ACCURACY_COLUMNS or c.startswith(tuple(f"{a}:" for a in ACCURACY_COLUMNS))


def target_column(frame: pd.DataFrame, proxy: str, target_col: str) -> str:
    """Where ``proxy``'s accuracies are: its own column when its run has another truth, else the main one."""
    own = own_column(target_col, proxy)
    return own if own in frame.columns else target_col


def own_truth_proxies(frame: pd.DataFrame) -> list[str]:
    """The proxies whose runs carry their own accuracies (another truth than the table's)."""
    prefix = f"{ACCURACY_COLUMNS[0]}:"
    return [str(c)[len(prefix) :] for c in frame.columns if str(c).startswith(prefix)]


def mixed_truth_note(frame: pd.DataFrame, label: str, proxies: list[str]) -> str | None:
    """One line for a table that puts runs with different truths side by side (None when they share one)."""
    own = [p for p in proxies if p in own_truth_proxies(frame)]
    if not own:
        return None
    one = len(own) == 1
    return (
        f"{label}: {', '.join(own)} {'is' if one else 'are'} compared with {'its' if one else 'their'} own run's"
        " accuracies (another dump, schedule or file than the table's)"
    )


def proxy_columns(frame: pd.DataFrame) -> list[str]:
    """Score columns: numeric columns that are not metadata, accuracies, timings or error strings (``vote``
    has no column of its own: it is computed from synflow, jacov and snip)."""
    out = []
    for c in frame.columns:
        if c in META_COLUMNS or c == "vote" or is_accuracy_column(c):
            continue
        if str(c).endswith(("_time", "_seconds", "_error")):
            continue
        if pd.api.types.is_numeric_dtype(frame[c]):
            out.append(str(c))
    return out
