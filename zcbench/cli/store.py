"""``zcbench status`` and ``zcbench merge``, the results file's commands: options only; the work is in
``store.coverage`` and ``store.merge.merge_results``."""

from __future__ import annotations

import click

from . import options
from .app import main


@main.command()
@options.results_argument()
@click.option(
    "--reasons",
    "n_reasons",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Failure reasons shown per run (most frequent first).",
)
def status(results: str, n_reasons: int) -> None:
    """Coverage of a results file per (space, dataset, proxy, setting): done, failed, missing, code.

    'code' is what computed the run (zcbench's version, a plugin's code fingerprint, an imported file).
    'missing' counts architectures that other runs of the same space and dataset have but this one
    lacks (e.g. a proxy added later, or an interrupted run); the file's journal is included."""
    import pandas as pd

    from ..formatting import format_frame
    from ..store import coverage

    rows = coverage(results)
    if not rows:
        click.echo(f"{results}: no runs yet")
        return
    names = [f"{c.space}/{c.dataset}/{c.proxy}/{c.setting}" for c in rows]
    cols = {"done": [c.done for c in rows], "failed": [c.failed for c in rows], "missing": [c.missing for c in rows]}
    # which code computed each run: a zcbench version, a plugin's fingerprint (v<version> or its file's hash)
    # or the imported file, so two runs of an edited plugin can be told apart
    table = pd.DataFrame({"run": names, **cols, "code": [c.code for c in rows]})
    click.echo(format_frame(table, "table"), nl=False)
    for name, c in zip(names, rows):  # why runs failed, most frequent first, below the table
        shown = sorted(c.reasons.items(), key=lambda kv: -kv[1])[:n_reasons]
        if shown:
            click.echo(f"\n{name} failures:")
        for reason, n in shown:
            click.echo(f"    {n:>5d} x {reason}")
        if shown and len(c.reasons) > n_reasons:
            click.echo(f"    ... and {len(c.reasons) - n_reasons} other reasons")
        for line in c.advice():
            click.echo(f"    what to do: {line}")


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--out", required=True, type=click.Path(), help="Merged results file (created or extended).")
@options.ignore_versions(help="Merge runs made with other zcbench/torch versions.")
def merge(inputs: tuple[str, ...], out: str, ignore_versions: bool) -> None:
    """Combine results files, such as the shards of `score --shard i/n`, into OUT.

    Runs are matched by their settings; inputs whose runs disagree (another dump, other versions,
    an architecture scored differently) are refused and OUT is left as it was."""
    from ..store.merge import merge_results

    counts = merge_results(list(inputs), out, check_versions=not ignore_versions)
    click.echo(
        f"merged {len(inputs)} files: {counts['rows']} rows into {counts['runs']} runs "
        f"({counts['duplicates']} duplicates skipped) -> {out}"
    )
