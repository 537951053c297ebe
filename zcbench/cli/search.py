"""``zcbench search``: option parsing only; the work (config merging included) is in :mod:`zcbench.search`,
reached through ``zcbench.api.search``."""

from __future__ import annotations

import click

from . import options
from .app import main


@main.command()
@options.results_argument()
@options.config("search", "abdelfattah2021-nb201")
@options.space(help="Space to search (default: the only one in RESULTS).")
@options.dataset(
    "datasets", multiple=True, help="Dataset(s), each searched in turn (default: the only one of the space in RESULTS)."
)
@options.proxy(help="Proxy column(s); the first ranks (warm-up, move, proxy-evolution), all feed the predictor.")
@click.option(
    "--algo",
    "algos",
    multiple=True,
    help="Algorithm(s) or wildcards: random, ae, proxy-evolution, predictor-evolution (default: random, ae).",
)
@click.option("--warmup", type=int, default=None, help="Zero-cost warm-up pool size (adds +warmupW variants).")
@click.option(
    "--move", type=float, default=None, help="Zero-cost move-proposal probability (adds +moveP variants of ae)."
)
@click.option("--budget", type=int, default=None, help="Trained models per round (default 300).")
@click.option("--rounds", type=int, default=None, help="Independent rounds, seeds SEED..SEED+ROUNDS-1 (default 10).")
@options.seed(default=None, help="First round's seed (default 0).")
@click.option("--population", type=int, default=None, help="Evolution population (default 64).")
@click.option("--sample", type=int, default=None, help="Tournament size (default 10).")
@click.option("--cycles", type=int, default=None, help="proxy-evolution steps (default 1000).")
@click.option(
    "--candidates",
    type=int,
    default=None,
    help="predictor-evolution offspring candidates per generation (default 100).",
)
@click.option(
    "--min-train",
    "min_train",
    type=int,
    default=None,
    help="predictor-evolution: plain AE until this many are trained (default 10).",
)
@click.option("--model", default=None, help="predictor-evolution's predictor: rf (default), xgb, gp, ridge, svr, mlp.")
@click.option("--features", default=None, help="predictor-evolution's features: encoding, zc, encoding+zc (default).")
@click.option(
    "--offspring", type=int, default=None, help="predictor-evolution: candidates trained per generation (10)."
)
@click.option(
    "--explore",
    type=float,
    default=None,
    help="predictor-evolution: share of them drawn from lower prediction percentiles (0.2).",
)
@click.option(
    "--dump",
    default=None,
    metavar="FILE",
    help="The benchmark dump RESULTS was scored from: accuracies as search papers report them "
    "(NB201 CIFAR-10 test from the cifar10 entry).",
)
@click.option(
    "--baseline",
    default=None,
    metavar="NAME",
    help="Variant every row is compared with (default: the plain twin; random for algorithms without one).",
)
@click.option(
    "--count",
    type=click.Choice(["distinct", "queries"]),
    default=None,
    help="A trained model is a new architecture (distinct, default) or any benchmark query, repeats included "
    "(queries: the notebook's count).",
)
@click.option(
    "--report",
    type=click.Choice(["incumbent", "best-test", "val"]),
    default=None,
    help="Curve reported: test accuracy of the val-chosen incumbent (default), the best test accuracy trained so far "
    "(best-test: the notebook's figure), or the incumbent's val accuracy.",
)
@options.table_format(("table", "markdown", "csv", "json"))
@click.option(
    "--curves",
    "curves_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the mean curves (variant, n, mean/std of incumbent test and val and of best test) as CSV.",
)
@click.option(
    "--plot",
    "plot_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Plot the reported mean curves (± std, see --report) to this .png/.pdf (no suffix: both); needs matplotlib.",
)
@options.digits(2)
def search(
    results, config_path, space, datasets, proxies, algos, warmup, move, budget, rounds, seed, population, sample,
    cycles, candidates, min_train, model, features, offspring, explore, dump, baseline, count, report, fmt,
    curves_path, plot_path, digits,
):  # fmt: skip
    """Search RESULTS' benchmark with zero-cost proxies and report the speed-up in trained models.

    RESULTS must hold proxy scores and accuracies (a `zcbench score ... --dump` run). Each --algo
    runs plain and with the zero-cost options given, so one command prints the comparison.
    """
    from ..api import search as run_search
    from ..formatting import format_frame
    from ..outputs import check_writable, write_all

    given = dict(
        space=space, dataset=list(datasets), proxy=list(proxies), algo=list(algos), warmup=warmup, move=move,
        budget=budget, rounds=rounds, seed=seed, population=population, sample=sample, cycles=cycles,
        candidates=candidates, min_train=min_train, model=model, features=features, offspring=offspring,
        explore=explore, dump=dump, baseline=baseline, count=count, report=report,
    )  # fmt: skip
    if curves_path:
        check_writable(curves_path, "curves file")
    if plot_path:
        from ..report.plot import figure_paths

        figure_paths(plot_path)  # a suffix matplotlib cannot write, or an unwritable place: refused now
    rep = run_search(results, config_path, **given)
    files: dict = {}  # written together: all of them, or none
    if curves_path:
        files[curves_path] = rep.curves.to_csv(index=False, float_format="%.6g")
    if plot_path:
        from ..report.plot import render_search_curves

        curves = rep.curves
        if curves["dataset"].nunique() > 1:  # one figure, a line per (dataset, variant)
            curves = curves.assign(variant=curves["dataset"] + ": " + curves["variant"])
        files.update(render_search_curves(curves, plot_path, rep.which, title=rep.title))
    write_all(files)
    for note in rep.notes:  # after the files: a command that fails says one line only
        click.echo(f"zcbench: note: {note}", err=True)
    click.echo(format_frame(rep.table, fmt, rep.caption, digits), nl=False)
