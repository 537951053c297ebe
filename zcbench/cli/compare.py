"""``zcbench compare``: option parsing only; the statistics are in :mod:`zcbench.report.significance`."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..settings import DEFAULT_RESULTS, TARGETS
from . import options
from .app import main

CONVENTION_COLUMNS = ("metric", "sign", "score_nan", "target", "confidence", "resamples", "seed")


def _split_args(args: tuple[str, ...], ties: bool) -> tuple[str, list[str]]:
    """``[RESULTS] A B`` (or ``[RESULTS]`` with --ties) → (results path, proxies)."""
    if ties:
        if len(args) > 1:
            raise UsageError("--ties takes at most a RESULTS file; choose proxies with --proxy")
        return (args[0] if args else DEFAULT_RESULTS), []
    if len(args) not in (2, 3):
        raise UsageError("expected [RESULTS] A B: two proxy names, optionally after the results file")
    results = args[0] if len(args) == 3 else DEFAULT_RESULTS
    return results, list(args[-2:])


def _render(df, fmt: str, caption: str, notes: list[str]) -> str:
    """The one place that turns a result frame into text (swap for the shared formatter here).

    CSV and JSON carry every column, conventions included; the text table drops the conventions
    and the verdicts, and prints the verdicts (``notes``) and the method (``caption``) below it."""
    import pandas as pd

    from ..report import format_frame

    if fmt in ("csv", "json"):
        return format_frame(df, fmt)
    shown = df.drop(columns=[c for c in (*CONVENTION_COLUMNS, "verdict") if c in df.columns])
    if "better" in shown.columns:
        shown["better"] = shown["better"].fillna("–")
    for col in [c for c in shown.columns if pd.api.types.is_bool_dtype(shown[c])]:
        shown[col] = shown[col].map({True: "yes", False: "no"})
    text = format_frame(shown, "table", "", 3)
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    return text + "\n" + caption + "\n"


@main.command()
@click.argument("args", nargs=-1, metavar="[RESULTS] A B")
@options.space("spaces", multiple=True)
@options.dataset("datasets", multiple=True)
@click.option("--target", type=click.Choice(TARGETS), default="val", show_default=True)
@click.option("--metric", type=click.Choice(["spearman", "kendall"]), default="spearman", show_default=True)
@click.option(
    "--sign",
    type=click.Choice(["signed", "abs"]),
    default="signed",
    show_default=True,
    help="abs compares |ρ_A| − |ρ_B| (Abdelfattah et al.'s tables).",
)
@click.option(
    "--score-nan",
    type=click.Choice(["omit", "worst"]),
    default="omit",
    show_default=True,
    help="omit: only architectures where both scores are finite; worst: failed scores rank last.",
)
@click.option("--resamples", type=int, default=2000, show_default=True, help="Paired bootstrap resamples.")
@options.seed(type=click.IntRange(min=0), help="Seed of the resampling (same seed, same result).")
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Level of the percentile interval.")
@click.option(
    "--ties",
    is_flag=True,
    help="Instead of A vs B: every proxy of each (space, dataset) against the best one, marking those tied with it.",
)
@options.proxy(help="With --ties: only these proxies (repeatable).")
@options.table_format(("table", "csv", "json"))
def compare(
    args, spaces, datasets, target, metric, sign, score_nan, resamples, seed, confidence, ties, proxies, fmt
) -> None:
    """Is proxy A's correlation really higher than proxy B's? A paired bootstrap per (space, dataset).

    Architectures are resampled with replacement and both correlations recomputed on the same
    resample; the percentile interval of ρ_A − ρ_B (Efron & Tibshirani 1993, "An Introduction to the
    Bootstrap", ch. 13) gives the verdict: a proxy is called better only when the interval excludes 0.
    RESULTS defaults to results/zcbench.h5. See docs/compare.md.
    """
    from ..report.comparison import compare_pair, compare_ties
    from ..report.significance import Bootstrap
    from ..store import load_frame

    results, pair = _split_args(args, ties)
    if proxies and not ties:
        raise UsageError("--proxy goes with --ties; name the two proxies as A B")
    boot = Bootstrap.of(
        metric=metric, sign=sign, score_nan=score_nan, resamples=resamples, seed=seed, confidence=confidence
    )
    frame = load_frame(results)
    select = {"target": target, "spaces": spaces, "datasets": datasets, "boot": boot, "where": results}
    if ties:
        table = compare_ties(frame, proxies, **select)
        click.echo(_render(table, fmt, table.attrs["caption"], []), nl=False)
        return
    table = compare_pair(frame, *pair, **select)
    notes = [f"{r['space']}/{r['dataset']}: {r['verdict']}" for r in table.to_dict("records")]
    click.echo(_render(table, fmt, table.attrs["caption"], notes), nl=False)
