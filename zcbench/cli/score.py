"""``zcbench score`` and ``zcbench export``: options → settings objects → library calls, nothing more."""

from __future__ import annotations

import sys

import click

from ..settings import DEFAULT_OOM, EXECUTORS, OOM_POLICIES
from . import options
from .app import main


@main.command()
@options.space(required=True)
@click.option("--dump", type=click.Path(), help="Official benchmark dump (file or directory).")
@options.dataset()
@options.proxy("proxy_names", required=True)
@click.option("--archs", "archs_file", type=click.Path(), help="File with one architecture per line.")
@click.option(
    "--archs-from",
    type=click.Path(),
    help="The architectures this results file holds for --space/--dataset (e.g. imported published scores).",
)
@click.option("--sample", type=int, help="Score N architectures drawn at random (seeded).")
@click.option("--limit", type=int, help="Score only the first N architectures.")
@options.seed()
@options.batch_size()
@click.option("--dataload", type=click.Choice(["random", "grasp"]), default="random", show_default=True)
@click.option("--dataload-info", type=int, help="Images per class for --dataload grasp [default: 1].")
@click.option("--epochs", type=int, help="Which training schedule's accuracies to read (NB201: 200 or 12).")
@options.device()
@click.option(
    "--workers",
    type=int,
    default=0,
    show_default=True,
    help="Worker processes per device (0 = score in this process; with --executor ray on GPUs: actors per GPU).",
)
@options.data_dir()
@click.option("--synthetic", is_flag=True, help="Use seeded Gaussian images instead of real data.")
@options.proxy_option()
@options.plugin()
@options.results_file()
@click.option("--retry-failed", is_flag=True, help="Score again the architectures stored as failed (rows replaced).")
@options.ignore_versions()
@click.option("--quiet", is_flag=True, help="No progress bar; log lines only.")
@click.option("--shard", help="i/n (0-based): score only shard i of n of the architectures, split by arch hash.")
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default="local",
    show_default=True,
    help="Run workers locally or on a Ray cluster ($RAY_ADDRESS; extra [ray]).",
)
@click.option("--variant", help="Network variant where a space has several (nb301: nb301, naslib, swap).")
@click.option("--timeout", type=float, help="Seconds allowed per architecture (with workers).")
@click.option(
    "--oom",
    type=click.Choice(OOM_POLICIES),
    default=DEFAULT_OOM,
    show_default=True,
    help="Out of GPU memory at --batch-size: a failed row, or split the minibatch (other BatchNorm statistics: "
    "a run of its own).",
)
def score(
    space, dump, dataset, proxy_names, archs_file, archs_from, sample, limit, seed, batch_size, dataload,
    dataload_info, epochs, device, workers, data_dir, synthetic, options, plugins, out, retry_failed,
    ignore_versions, quiet, shard, timeout, executor, variant, oom,
) -> None:  # fmt: skip
    """Score architectures of a space with zero-cost proxies into an HDF5 results file.

    Re-running the same command resumes: what is cached is not computed again."""
    from ..engine import run_scoring
    from ..settings import ArchSelection, Execution, RunSettings, parse_option_items

    settings = RunSettings(
        space=space, dataset=dataset, proxies=tuple(proxy_names), seed=seed, batch_size=batch_size,
        dataload=dataload, dataload_info=dataload_info, synthetic=synthetic, data_dir=data_dir, dump=dump,
        epochs=epochs, options=parse_option_items(options), variant=variant, plugins=tuple(plugins), oom=oom,
    )  # fmt: skip
    selection = ArchSelection(archs_file=archs_file, sample=sample, limit=limit, archs_from=archs_from)
    execution = Execution(device=device, workers=workers, executor=executor, timeout=timeout, shard=shard, quiet=quiet)
    summary = run_scoring(settings, selection, execution, out, retry_failed=retry_failed, allow_mixed=ignore_versions)
    click.echo(summary.line())


@main.command()
@options.results_argument()
@options.table_format(("csv", "json", "table"), default="csv")
@click.option("-o", "--output", type=click.Path(), help="Write here instead of standard output.")
@click.option("--sort", "sort_by", help="Sort by this column (descending).")
@click.option("--head", type=click.IntRange(min=1), help="Only the first N rows.")
@options.space(help="Only this space.")
@options.dataset(help="Only this dataset.")
def export(results, fmt, output, sort_by, head, space, dataset) -> None:
    """One row per (space, dataset, arch): index, arch, one column per proxy, val/test accuracy."""
    from ..outputs import check_writable, write_text
    from ..report.export import export_frame

    if output:
        check_writable(output)
    text = export_frame(results, fmt=fmt, sort_by=sort_by, head=head, space=space, dataset=dataset)
    if output:
        write_text(output, text)
    else:
        sys.stdout.write(text)
