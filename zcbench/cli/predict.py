"""``zcbench predict``: option parsing only; the work is in :mod:`zcbench.predictors` (via ``zcbench.api.predict``)."""

from __future__ import annotations

import click

from . import options
from .app import main


@main.command()
@options.results_argument()
@options.config("predict", "suite-zero-xgb")
@options.space(help="Space (default: the only one in RESULTS).")
@options.dataset(help="Dataset (default: the only one of the space in RESULTS).")
@click.option(
    "--features",
    multiple=True,
    help="Feature set(s), repeatable or comma-separated: encoding, zc, encoding+zc (default encoding+zc).",
)
@click.option("--model", "models", multiple=True, help="Model(s): xgb, rf, gp, ridge, svr, mlp, or all (default xgb).")
@click.option(
    "--train", default=None, metavar="N[,N2,...]", help="Training-set size(s); several draw a learning curve (100)."
)
@click.option("--test", type=int, default=None, help="Test-set size, disjoint from the training set (1000).")
@click.option("--trials", type=int, default=None, help="Seeded trials, seeds SEED..SEED+TRIALS-1 (100).")
@options.seed(default=None, help="Seed of the first trial (0).")
@options.proxy(help="Proxy columns (names or wildcards, e.g. snip@naslib; default: all).")
@options.source()
@options.table_format()
@options.digits()
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write the table here instead of stdout.")
@click.option(
    "--plot",
    "plot_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Learning curve (ρ against N) to this .png/.pdf (no suffix: both).",
)
def predict(
    results, config_path, space, dataset, features, models, train, test, trials, seed, proxies, source, fmt, digits,
    out, plot_path,
):  # fmt: skip
    """How well a predictor trained on N architectures ranks M others, from RESULTS' scores and accuracies.

    For each trial, N training and M test architectures are drawn (seeded, disjoint) from those with a
    validation accuracy; the model is fitted on the features and Spearman ρ / Kendall τ of its predictions
    against validation accuracy on the test set are reported, mean ± std over trials.
    """
    from ..api import predict as run_predict
    from ..formatting import format_frame
    from ..outputs import check_writable, write_all

    if out:
        check_writable(out)
    if plot_path:
        from ..report.plot import figure_paths

        figure_paths(plot_path)
    table = run_predict(
        results, config_path, space=space, dataset=dataset, features=list(features), model=list(models),
        train=train, test=test, trials=trials, seed=seed, proxy=list(proxies), source=source,
    )  # fmt: skip
    caption = table.attrs.get("caption", "")
    text = format_frame(table, fmt, caption, digits)
    files: dict = {}
    if plot_path:
        from ..predictors.plot import render_learning_curve

        title = f"{table.attrs.get('space', '')}/{table.attrs.get('dataset', '')}"
        files.update(render_learning_curve(table, plot_path, title))
    if out:
        files[out] = text
    write_all(files)
    if not out:
        click.echo(text, nl=False)
