"""``zcbench compare``: option parsing only; the statistics are in :mod:`zcbench.report.significance`."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..settings import DEFAULT_RESULTS
from .app import main

TARGET_COLUMNS = {"val": "val_accuracy", "test": "test_accuracy"}
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
    a, b = args[-2:]
    if a == b:
        raise UsageError(f"A and B are the same proxy ({a}); compare two different proxies")
    return results, [a, b]


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
@click.option("--space", "spaces", multiple=True, help="Only these spaces (repeatable).")
@click.option("--dataset", "datasets", multiple=True, help="Only these datasets (repeatable).")
@click.option("--target", type=click.Choice(tuple(TARGET_COLUMNS)), default="val", show_default=True)
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
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the resampling (same seed, same result).",
)
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Level of the percentile interval.")
@click.option(
    "--ties",
    is_flag=True,
    help="Instead of A vs B: every proxy of each (space, dataset) against the best one, marking those tied with it.",
)
@click.option("--proxy", "proxies", multiple=True, help="With --ties: only these proxies (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def compare(
    args, spaces, datasets, target, metric, sign, score_nan, resamples, seed, confidence, ties, proxies, fmt
) -> None:
    """Is proxy A's correlation really higher than proxy B's? A paired bootstrap per (space, dataset).

    Architectures are resampled with replacement and both correlations recomputed on the same
    resample; the percentile interval of ρ_A − ρ_B (Efron & Tibshirani 1993, "An Introduction to the
    Bootstrap", ch. 13) gives the verdict: a proxy is called better only when the interval excludes 0.
    RESULTS defaults to results/zcbench.h5. See docs/compare.md.
    """
    from ..report import significance as sig

    results, pair = _split_args(args, ties)
    if proxies and not ties:
        raise UsageError("--proxy goes with --ties; name the two proxies as A B")
    sig.check_options(metric, sign, score_nan, resamples, confidence)

    from ..report import proxy_columns
    from ..report.aggregate import with_aggregates
    from ..store import load_frame

    frame = with_aggregates(load_frame(results))  # az_nas/te_nas ranked within each (space, dataset)
    have = proxy_columns(frame)
    unknown = [p for p in (pair or list(proxies)) if p not in have]
    if unknown:
        raise UsageError(f"unknown proxy {', '.join(unknown)} in {results} (have: {', '.join(have) or 'none'})")
    pairs = ", ".join(sorted({f"{s}/{d}" for s, d in zip(frame["space"], frame["dataset"])})) or "nothing"
    unmatched = [v for v in spaces if v not in set(frame["space"])]
    unmatched += [v for v in datasets if v not in set(frame["dataset"])]
    if unmatched:  # a typo in a selector must not pass for a smaller comparison
        raise UsageError(f"no (space, dataset) of {results} holds {', '.join(unmatched)} (it has {pairs})")
    if spaces:
        frame = frame[frame["space"].isin(spaces)]
    if datasets:
        frame = frame[frame["dataset"].isin(datasets)]
    tcol = TARGET_COLUMNS[target]
    caption = sig.method_caption(metric, sign, score_nan, resamples, seed, confidence, tcol)
    where = f" (--space/--dataset: {', '.join(spaces + datasets)}; it has {pairs})" if spaces or datasets else ""

    if ties:
        table = sig.tie_table(frame, list(proxies) or None, tcol, metric, sign, score_nan, resamples, seed, confidence)
        if table.empty:
            raise UsageError(f"no (space, dataset) of {results} has proxy scores{where}")
        note = table.attrs["caption"]
        table = table.assign(score_nan=score_nan, target=target, confidence=confidence, resamples=resamples, seed=seed)
        click.echo(_render(table, fmt, note, []), nl=False)
        return

    table = sig.compare_table(frame, pair[0], pair[1], tcol, metric, sign, score_nan, resamples, seed, confidence)
    if table.empty:
        raise UsageError(f"no (space, dataset) of {results} holds {pair[0]}, {pair[1]} and {target} accuracies{where}")
    table["target"] = target
    rows = table.to_dict("records")
    notes = [f"{r['space']}/{r['dataset']}: {r['verdict']}" for r in rows]
    click.echo(_render(table, fmt, caption, notes), nl=False)
