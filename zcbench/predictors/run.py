"""``zcbench predict`` from a results frame and merged settings to the table (the CLI and ``zc.predict`` call this)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..errors import UsageError
from ..report.sources import source_frame
from .evaluation import PredictSettings, compare_published, evaluate
from .features import pool_from_frame


def settings_of(cfg: Mapping[str, Any]) -> PredictSettings:
    """The checked :class:`PredictSettings` of a merged config (``config.resolve``)."""
    return PredictSettings(
        features=tuple(cfg["features"]),
        models=tuple(cfg["model"]),
        train=tuple(cfg["train"]),
        test=cfg["test"],
        trials=cfg["trials"],
        seed=cfg["seed"],
        params=cfg["params"] or {},
    ).checked()


def infer(frame: pd.DataFrame, key: str, given: str | None, where: str, space: str | None = None) -> str:
    """The --space (or, for ``space``, the --dataset) to use: the given one, which the frame must hold, else
    the only one it has."""
    from ..report.selection import select_rows

    if given:
        select_rows(frame, spaces=given if key == "space" else space, datasets=given if key == "dataset" else None,
                    where=where)  # fmt: skip
        return given
    block = frame if space is None else frame[frame["space"] == space]
    have = sorted({str(v) for v in block[key]})
    if len(have) == 1:
        return have[0]
    raise UsageError(f"give --{key} ({where} has {', '.join(have) or 'no rows'})")


def predict_frame(
    frame: pd.DataFrame, cfg: Mapping[str, Any], where: str = "the results", settings: PredictSettings | None = None
) -> pd.DataFrame:
    """The predictor table of ``frame`` under the merged settings ``cfg`` (``settings``: the same, already
    checked); published values beside ours when the settings name some. Everything is checked before the
    first model is fitted."""
    s = settings or settings_of(cfg)
    frame = source_frame(frame, cfg["source"])
    if not len(frame):
        raise UsageError(f"{where} has no rows")
    space = infer(frame, "space", cfg["space"], where)
    dataset = infer(frame, "dataset", cfg["dataset"], where, space=space)
    proxies = cfg["proxy"] if s.needs_zc else ()
    pool = pool_from_frame(frame, space, dataset, proxies, where)
    table = evaluate(pool, s)
    table.attrs["space"], table.attrs["dataset"] = space, dataset
    return compare_published(table, cfg["published"])
