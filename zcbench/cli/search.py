"""``zcbench search``: option parsing only; the work is in :mod:`zcbench.search`."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..settings import DEFAULT_RESULTS
from .app import main


def _infer(frame, key: str, given: str | None, results: str, space: str | None = None) -> str:
    """The --space (or the --dataset of ``space``) to search: the given one, which the file must hold,
    else the only one the file has."""
    from ..report import select_rows

    if given:
        if key == "space":
            select_rows(frame, spaces=given, where=results)
        else:
            select_rows(frame, spaces=space, datasets=given, where=results)
        return given
    block = frame if space is None else frame[frame["space"] == space]
    have = sorted(set(block[key]))
    if len(have) == 1:
        return str(have[0])
    raise UsageError(f"give --{key} (the results file has {', '.join(map(str, have)) or 'no rows'})")


@main.command()
@click.argument("results", default=DEFAULT_RESULTS, required=False)
@click.option(
    "--config",
    "config_path",
    default=None,
    metavar="FILE|NAME",
    help="Settings file, or a preset name from configs/search (abdelfattah2021-nb201); options given here override it.",
)
@click.option("--space", default=None, help="Space to search (default: the only one in RESULTS).")
@click.option("--dataset", default=None, help="Dataset (default: the only one of the space in RESULTS).")
@click.option(
    "--proxy",
    "proxies",
    multiple=True,
    help="Proxy column(s); the first ranks (warm-up, move, proxy-evolution), all feed the predictor.",
)
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
@click.option("--seed", type=int, default=None, help="First round's seed (default 0).")
@click.option("--population", type=int, default=None, help="Evolution population (default 64).")
@click.option("--sample", type=int, default=None, help="Tournament size (default 10).")
@click.option("--cycles", type=int, default=None, help="proxy-evolution steps (default 1000).")
@click.option("--candidates", type=int, default=None, help="predictor-evolution children per step (default 20).")
@click.option(
    "--min-train",
    "min_train",
    type=int,
    default=None,
    help="predictor-evolution: plain AE until this many are trained (default 10).",
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
@click.option(
    "--format", "fmt", type=click.Choice(["table", "markdown", "csv", "json"]), default="table", show_default=True
)
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
@click.option("--digits", type=click.IntRange(min=0), default=2, show_default=True)
def search(
    results,
    config_path,
    space,
    dataset,
    proxies,
    algos,
    warmup,
    move,
    budget,
    rounds,
    seed,
    population,
    sample,
    cycles,
    candidates,
    min_train,
    baseline,
    count,
    report,
    fmt,
    curves_path,
    plot_path,
    digits,
):
    """Search RESULTS' benchmark with zero-cost proxies and report the speed-up in trained models.

    RESULTS must hold proxy scores and accuracies (a `zcbench score ... --dump` run). Each --algo
    runs plain and with the zero-cost options given, so one command prints the comparison.
    """
    from .. import search as zs
    from ..formatting import format_frame
    from ..outputs import check_writable, write_all
    from ..spaces import get_space
    from ..store import load_frame

    cfg = zs.defaults()
    cfg.update(zs.read_config(config_path))
    given = {
        "space": space,
        "dataset": dataset,
        "proxy": list(proxies) or None,
        "algo": list(algos) or None,
        "warmup": warmup,
        "move": move,
        "budget": budget,
        "rounds": rounds,
        "seed": seed,
        "population": population,
        "sample": sample,
        "cycles": cycles,
        "candidates": candidates,
        "min_train": min_train,
        "baseline": baseline,
        "count": count,
        "report": report,
    }
    cfg.update({k: v for k, v in given.items() if v is not None})

    zs.check_choices(cfg)
    chosen = zs.ALGORITHMS.select(cfg["algo"])  # unknown names fail before any file is read
    if curves_path:
        check_writable(curves_path, "curves file")
    if plot_path:
        from ..report.plot import figure_paths

        figure_paths(plot_path)  # a suffix matplotlib cannot write, or an unwritable place: refused now
    frame = load_frame(results)  # StoreError for a missing or foreign file
    if not len(frame):
        raise UsageError(f"{results}: the results file has no rows")
    space_name = _infer(frame, "space", cfg["space"], results)
    ds = _infer(frame, "dataset", cfg["dataset"], results, space=space_name)
    proxy_list = cfg["proxy"]
    if not proxy_list:
        raise UsageError("give --proxy (the proxy that ranks architectures, e.g. synflow)")
    problem = zs.problem_from_frame(frame, get_space(space_name), ds, proxy_list)

    base = zs.SearchSettings(
        warmup=cfg["warmup"],
        move=cfg["move"],
        population=cfg["population"],
        sample=cfg["sample"],
        cycles=cfg["cycles"],
        candidates=cfg["candidates"],
        min_train=cfg["min_train"],
        count_repeats=cfg["count"] == "queries",
    )
    variants, baselines = zs.plan_variants(chosen, base, cfg["baseline"])
    res = zs.run_search(problem, variants, cfg["budget"], cfg["rounds"], cfg["seed"])
    which = zs.REPORTS[cfg["report"]]
    table = zs.speedup_table(res, baselines, which)
    caption = (
        f"{space_name}/{ds}, proxy {', '.join(proxy_list)}, {len(problem)} architectures in the domain, "
        f"{cfg['rounds']} rounds (seeds {cfg['seed']}..{cfg['seed'] + cfg['rounds'] - 1}) x {cfg['budget']} "
        f"trained models. " + table.attrs["caption"]
    )
    files: dict = {}  # written together: all of them, or none
    if curves_path:
        files[curves_path] = zs.curves_frame(res).to_csv(index=False, float_format="%.6g")
    if plot_path:
        from ..report.plot import render_search_curves

        files.update(render_search_curves(zs.curves_frame(res), plot_path, which, title=caption.split(". ")[0]))
    write_all(files)
    click.echo(format_frame(table, fmt, caption, digits), nl=False)
