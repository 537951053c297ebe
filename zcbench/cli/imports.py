"""``zcbench import naslib|abdelfattah FILE...`` and ``zcbench agreement``: published scores beside ours."""

from __future__ import annotations

import click

from . import options
from .app import main


@main.group("import")
def import_() -> None:
    """Store published per-architecture proxy scores as runs of their own (see docs/imports.md).

    An imported proxy is the column <proxy>@<origin> (synflow@naslib) next to zcbench's own, so correlate,
    plot, compare and the paper comparisons (--source) use it like any other run."""


def _nb101_space(nb101_dump: str | None):
    """An NB101 space with its dump loaded: the dump's spelling of each graph (and its module hashes)."""
    if not nb101_dump:
        return None
    from ..spaces import get_space

    sp = get_space("nb101")
    sp.load_dump(nb101_dump, "cifar10")
    return sp


def _finish(summary, out: str, origin: str) -> None:
    from ..imports.agreement import agreement
    from ..report import format_frame
    from ..store import load_frame

    for note in summary.notes:
        click.echo(f"zcbench: {note}", err=True)
    click.echo(summary.line(out))
    table = agreement(load_frame(out), origin)
    if len(table):
        click.echo(format_frame(table, "table", f"Agreement of zcbench's own scores with the {origin} ones.", 4))


@import_.command("naslib")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@options.results_file()
@options.space(help="Benchmark, when the file name does not say it (nb101, nb201, nb301, tnb101_micro...).")
@click.option("--nb101-dump", type=click.Path(), help="NB101 dump: store each graph in the dump's spelling.")
def import_naslib(files, out, space, nb101_dump) -> None:
    """NAS-Bench-Suite-Zero's zc_<benchmark>.json files (NASLib), every dataset and proxy in them."""
    from pathlib import Path

    from ..imports import read_suite_zero
    from ..imports.write import store_runs
    from ..outputs import check_writable
    from ..store import check_results_file

    check_results_file(Path(out))
    check_writable(out, "results file")
    nb101 = _nb101_space(nb101_dump)
    runs = []
    for f in files:  # every file is read and checked before anything is written
        runs += read_suite_zero(f, space, spaces={"nb101": nb101} if nb101 else None)
    _finish(store_runs(runs, out), out, "naslib")


@import_.command("abdelfattah")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@options.results_file()
@options.dataset(help="NB201 dataset when the file name does not say it (cifar10, cifar100, ImageNet16-120).")
@click.option("--nb101-dump", type=click.Path(), help="NB101 dump: resolves the module hashes of NB101 results.")
@click.option(
    "--graphs", type=click.Path(), help="Samsung's data/all_graphs.json: resolves NB101 hashes without the dump."
)
def import_abdelfattah(files, out, dataset, nb101_dump, graphs) -> None:
    """Abdelfattah et al.'s released result pickles (nb2_*.p for NB201; NB101 proxy pickles or their folder)."""
    from pathlib import Path

    from ..imports import read_abdelfattah, read_all_graphs
    from ..imports.write import store_runs
    from ..outputs import check_writable
    from ..store import check_results_file

    check_results_file(Path(out))
    check_writable(out, "results file")
    nb101 = _nb101_space(nb101_dump)
    resolver = read_all_graphs(graphs) if graphs else (nb101.parse if nb101 is not None else None)
    runs = []
    for f in files:
        runs += read_abdelfattah(f, dataset=dataset, hash_to_arch=resolver)
    _finish(store_runs(runs, out), out, "abdelfattah")


@main.command()
@options.results_argument()
@click.option("--origin", default="naslib", show_default=True, help="Which imported source (naslib, abdelfattah).")
@options.table_format()
def agreement(results, origin, fmt) -> None:
    """For every proxy scored both by zcbench and by an imported source on the same architectures: their
    Spearman ρ and the median ratio of values (after the source's known transform, e.g. NASLib's log synflow)."""
    from ..errors import UsageError
    from ..imports.agreement import agreement as agree
    from ..report import format_frame
    from ..store import load_frame

    table = agree(load_frame(results), origin)
    if not len(table):
        raise UsageError(f"{results}: no proxy is both scored by zcbench and imported from {origin}")
    caption = f"zcbench vs {origin} on the architectures both scored (ρ = Spearman; ratio = median ours/theirs)."
    click.echo(format_frame(table, fmt, caption, 4), nl=False)
