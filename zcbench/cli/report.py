"""``zcbench correlate`` and ``zcbench plot``: option parsing only; the work is in
:mod:`zcbench.report` and :mod:`zcbench.report.plot`."""

from __future__ import annotations

import sys

import click

from ..errors import UsageError
from ..settings import TARGETS
from . import options
from .app import main


def _load(results: str, source: str | None = None):
    """The results frame; with ``source``, the imported columns ``<proxy>@<source>`` under their bare names;
    population proxies (az_nas, te_nas) computed per table from their stored components."""
    from ..report.aggregate import with_aggregates
    from ..report.sources import source_frame
    from ..store import load_frame  # raises StoreError for a missing or foreign file

    return with_aggregates(source_frame(load_frame(results), source))


def _emit(text: str, out: str | None) -> None:
    if out:
        from ..outputs import write_text

        write_text(out, text)
    else:
        click.echo(text, nl=False)


@main.command()
@options.results_argument()
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=None,
    help="Accuracy to correlate with (default: the protocol's, val for plain).",
)
@click.option(
    "--protocol",
    "protocol_name",
    default=None,
    metavar="NAME|FILE",
    help="Preset from configs/protocols (abdelfattah2021, suite-zero, swap2024, plain) or a YAML file.",
)
@click.option(
    "--paper",
    default=None,
    metavar="NAME|FILE",
    help="Compare with a paper's published cells (configs/papers): ours | paper | Δ.",
)
@click.option(
    "--check",
    "tol",
    type=click.FloatRange(min=0),
    default=None,
    metavar="TOL",
    help="With --paper: exit 1 if any computed cell differs by more than TOL (or none can be computed).",
)
@options.table_format()
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Metrics to report (repeatable): spearman, kendall, pearson, spearman_top10, kendall_top10, "
    "overlap_top10, top64_in_top5, vote.",
)
@click.option(
    "--top-k",
    "top_k",
    type=click.FloatRange(min=0, max=100, min_open=True),
    default=None,
    metavar="K",
    help="Add top-K% ρ/τ, top-K% overlap and top-64-in-top-5%.",
)
@click.option(
    "--vote/--no-vote",
    default=None,
    help="Add Abdelfattah et al.'s vote (synflow, jacov, snip) row (default: the protocol's).",
)
@click.option("--ci", is_flag=True, help="Add bootstrap 95% intervals (<metric>_lo/_hi).")
@click.option(
    "--ties",
    is_flag=True,
    help="Add a 'tied' column: per (space, dataset), the best proxy and those statistically tied with it "
    "(paired bootstrap, --ci-resamples/--ci-seed).",
)
@click.option(
    "--ci-resamples", type=click.IntRange(min=1), default=1000, show_default=True, help="Bootstrap resamples."
)
@click.option("--ci-seed", type=click.IntRange(min=0), default=0, show_default=True, help="Bootstrap seed.")
@options.space("spaces", multiple=True)
@options.dataset("datasets", multiple=True)
@options.proxy(help="Only these proxies (names or wildcards, repeatable).")
@click.option("--table", "tables", multiple=True, help="With --paper: only these table ids.")
@options.source()
@options.digits()
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def correlate(
    results,
    target,
    protocol_name,
    paper,
    tol,
    fmt,
    metrics,
    top_k,
    vote,
    ci,
    ties,
    ci_resamples,
    ci_seed,
    spaces,
    datasets,
    proxies,
    tables,
    source,
    digits,
    out,
):
    """Rank correlation of every proxy with the trained accuracy, per (space, dataset).

    RESULTS is a zcbench HDF5 results file (default results/zcbench.h5). Signs and NaN handling
    follow --protocol and are stated in the caption (table, markdown, latex) or in columns (csv, json).
    """
    from .. import report as rep
    from ..outputs import check_writable

    if tol is not None and not paper:
        raise UsageError("--check needs --paper")
    if paper and (protocol_name or metrics or top_k or ci or ties):
        raise UsageError(
            "--paper uses each table's own protocol and metric; drop --protocol/--metric/--top-k/--ci/--ties"
        )
    if tables and not paper:
        raise UsageError("--table selects tables of --paper")
    if out:
        check_writable(out)
    if paper:
        pap = rep.load_paper(paper)
        table = rep.compare_paper(_load(results, source), pap, target=target, tables=tables or None)
        table = rep.select_rows(table, spaces, datasets, f"paper {pap.name}'s cells")
        _emit(rep.format_frame(rep.display_frame(table, fmt), fmt, table.attrs.get("caption", ""), digits), out)
        if tol is not None:
            check = rep.check_paper(table, tol, pap.name, results)
            click.echo(f"zcbench: {check.summary}", err=True)
            for line in check.failures:
                click.echo(f"  {line}", err=True)
            if not check.passed:
                sys.exit(1)
        return
    from ..report.significance import Bootstrap

    protocol = rep.load_protocol(protocol_name, target=target, vote=vote)
    chosen = list(metrics) or list(protocol.metrics)
    if top_k is not None:
        chosen += [m for m in rep.topk_metrics(top_k) if m not in chosen]
    rep.check_resampling(ci_resamples, ci_seed)
    frame = rep.select_rows(_load(results, source), spaces, datasets, results)
    table = rep.correlation_table(
        frame,
        protocol,
        chosen,
        proxies or None,
        ci=ci,
        ties=ties,
        resampling=Bootstrap(resamples=ci_resamples, seed=ci_seed),
        where=results,
    )
    _emit(rep.format_frame(rep.display_frame(table, fmt), fmt, table.attrs.get("caption", ""), digits), out)


@main.command()
@options.results_argument()
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(["scatter", "heatmap", "proxy-matrix", "all"]),
    multiple=True,
    default=("all",),
    show_default=True,
)
@click.option(
    "--out",
    "out_dir",
    default="reports/plots",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Directory for the figures.",
)
@click.option(
    "--format", "formats", type=click.Choice(["png", "pdf"]), multiple=True, default=("png", "pdf"), show_default=True
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=None,
    help="Accuracy axis / correlation target (default: the protocol's).",
)
@click.option(
    "--protocol",
    "protocol_name",
    default=None,
    metavar="NAME|FILE",
    help="Protocol for the heatmap values (sign, NaN, sampling).",
)
@click.option(
    "--axes",
    type=click.Choice(["rank", "value"]),
    default="rank",
    show_default=True,
    help="Scatter axes: ranks or raw values.",
)
@click.option(
    "--top",
    "top_pct",
    type=click.FloatRange(min=0, max=100, min_open=True),
    default=10.0,
    show_default=True,
    help="Highlight the top PCT% by accuracy in scatters.",
)
@options.source()
@options.space("spaces", multiple=True)
@options.dataset("datasets", multiple=True)
@options.proxy(help="Only these proxies (names or wildcards, repeatable).")
def plot(results, kinds, out_dir, formats, target, protocol_name, axes, top_pct, source, spaces, datasets, proxies):
    """Score-vs-accuracy scatters, a proxy × benchmark heatmap and proxy-vs-proxy matrices.

    Writes PNG and/or PDF files under --out.
    """
    from .. import report as rep
    from ..report import plot as zplot

    zplot.require_matplotlib()
    zplot.check_figure_dir(out_dir)
    protocol = rep.load_protocol(protocol_name, target=target)
    frame = rep.select_rows(_load(results, source), spaces, datasets, results)
    rep.match_columns(rep.proxy_columns(frame), proxies, results)
    kinds_set = {"scatter", "heatmap", "proxy-matrix"} if "all" in kinds else set(kinds)
    written = zplot.make_plots(
        frame,
        out_dir,
        kinds=kinds_set,
        formats=formats,
        protocol=protocol,
        axes=axes,
        top_pct=top_pct,
        proxies=proxies or None,
    )
    for path in written:
        click.echo(str(path))
