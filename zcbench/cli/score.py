"""``zcbench score`` and ``zcbench export``: options → settings objects → library calls, nothing more."""

from __future__ import annotations

import sys

import click

from ..settings import DEFAULT_BATCH_SIZE, DEFAULT_OOM, DEFAULT_RESULTS, DEFAULT_SEED, EXECUTORS, OOM_POLICIES
from .app import main


@main.command()
@click.option("--space", required=True, help="Benchmark space (see `zcbench spaces`).")
@click.option("--dump", type=click.Path(), help="Official benchmark dump (file or directory).")
@click.option("--dataset", help="Dataset or task (default: the space's first).")
@click.option(
    "--proxy", "proxy_names", multiple=True, required=True, help="Proxy name, wildcard ('syn*') or 'all'; repeatable."
)
@click.option("--archs", "archs_file", type=click.Path(), help="File with one architecture per line.")
@click.option(
    "--archs-from",
    type=click.Path(),
    help="The architectures this results file holds for --space/--dataset (e.g. imported published scores).",
)
@click.option("--sample", type=int, help="Score N architectures drawn at random (seeded).")
@click.option("--limit", type=int, help="Score only the first N architectures.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seeds weights and minibatch.")
@click.option("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option("--dataload", type=click.Choice(["random", "grasp"]), default="random", show_default=True)
@click.option("--dataload-info", type=int, help="Images per class for --dataload grasp [default: 1].")
@click.option("--epochs", type=int, help="Which training schedule's accuracies to read (NB201: 200 or 12).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda:0, cuda:0,cuda:1 or cuda (all GPUs).")
@click.option(
    "--workers", type=int, default=0, show_default=True, help="Worker processes per device (0 = score in this process)."
)
@click.option("--data-dir", type=click.Path(), envvar="ZCBENCH_DATA", help="Image data root [$ZCBENCH_DATA].")
@click.option("--synthetic", is_flag=True, help="Use seeded Gaussian images instead of real data.")
@click.option("--option", "options", multiple=True, help="Proxy option KEY=VALUE (e.g. swap_repeats=8).")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    help="Python file or module registering proxies with @register_proxy; repeatable [$ZCBENCH_PLUGINS].",
)
@click.option("--out", default=DEFAULT_RESULTS, show_default=True, type=click.Path(), help="HDF5 results file.")
@click.option("--retry-failed", is_flag=True, help="Score again the architectures stored as failed (rows replaced).")
@click.option(
    "--ignore-versions",
    is_flag=True,
    help="Let rows of another zcbench/torch version or device kind join a cached run.",
)
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
@click.argument("results", default=DEFAULT_RESULTS, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Write here instead of standard output.")
@click.option("--sort", "sort_by", help="Sort by this column (descending).")
@click.option("--head", type=click.IntRange(min=1), help="Only the first N rows.")
@click.option("--space", help="Only this space.")
@click.option("--dataset", help="Only this dataset.")
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
