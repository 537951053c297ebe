"""``zcbench score`` and ``zcbench export``: option parsing only; the work is in scoring/engine/store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import UsageError
from ..proxies import select_proxies
from ..spaces import get_space
from .app import main

DEFAULT_RESULTS = "results/zcbench.h5"


def _parse_options(items: tuple[str, ...]) -> dict:
    out = {}
    for it in items:
        if "=" not in it:
            raise UsageError(f"--option wants KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except ValueError:
            out[k.strip()] = v
    return out


@main.command()
@click.option("--space", required=True, help="Benchmark space (see `zcbench spaces`).")
@click.option("--dump", type=click.Path(), help="Official benchmark dump (file or directory).")
@click.option("--dataset", help="Dataset or task (default: the space's first).")
@click.option(
    "--proxy", "proxy_names", multiple=True, required=True, help="Proxy name, wildcard ('syn*') or 'all'; repeatable."
)
@click.option("--archs", "archs_file", type=click.Path(), help="File with one architecture per line.")
@click.option("--sample", type=int, help="Score N architectures drawn at random (seeded).")
@click.option("--limit", type=int, help="Score only the first N architectures.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds weights and minibatch.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--dataload", type=click.Choice(["random", "grasp"]), default="random", show_default=True)
@click.option("--dataload-info", type=int, default=1, show_default=True, help="Images per class for --dataload grasp.")
@click.option("--epochs", type=int, help="Which training schedule's accuracies to read (NB201: 200 or 12).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda:0, cuda:0,cuda:1 or cuda (all GPUs).")
@click.option(
    "--workers", type=int, default=0, show_default=True, help="Worker processes per device (0 = score in this process)."
)
@click.option("--data-dir", type=click.Path(), envvar="ZCBENCH_DATA", help="Image data root [$ZCBENCH_DATA].")
@click.option("--synthetic", is_flag=True, help="Use seeded Gaussian images instead of real data.")
@click.option("--option", "options", multiple=True, help="Proxy option KEY=VALUE (e.g. swap_repeats=8).")
@click.option("--out", default=DEFAULT_RESULTS, show_default=True, type=click.Path(), help="HDF5 results file.")
@click.option("--resume/--no-resume", default=True, show_default=True, help="Skip what is already cached.")
@click.option("--quiet", is_flag=True, help="No progress bar; log lines only.")
@click.option("--shard", help="i/n (0-based): score only shard i of n of the architectures, split by arch hash.")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Run workers locally or on a Ray cluster ($RAY_ADDRESS; extra [ray]).",
)
@click.option("--variant", help="Network variant where a space has several (nb301: nb301, naslib, swap).")
@click.option("--timeout", type=float, help="Seconds allowed per architecture (with workers).")
def score(
    space,
    dump,
    dataset,
    proxy_names,
    archs_file,
    sample,
    limit,
    seed,
    batch_size,
    dataload,
    dataload_info,
    epochs,
    device,
    workers,
    data_dir,
    synthetic,
    options,
    out,
    resume,
    quiet,
    shard,
    timeout,
    executor,
    variant,
) -> None:
    """Score architectures of a space with zero-cost proxies into an HDF5 results file."""
    from ..engine import score_command

    sp = get_space(space)
    dataset = sp.check_dataset(dataset or sp.datasets[0])
    names = select_proxies(proxy_names)
    summary = score_command(
        space=space,
        dataset=dataset,
        proxies=names,
        dump=dump,
        archs_file=archs_file,
        sample=sample,
        limit=limit,
        seed=seed,
        batch_size=batch_size,
        dataload=dataload,
        dataload_info=dataload_info,
        epochs=epochs,
        device=device,
        workers=workers,
        data_dir=data_dir,
        synthetic=synthetic,
        options=_parse_options(options),
        out=out,
        resume=resume,
        quiet=quiet,
        shard=shard,
        timeout=timeout,
        executor=executor,
        variant=variant,
    )
    click.echo(summary)


@main.command()
@click.argument("results", default=DEFAULT_RESULTS, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "table"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(), help="Write here instead of standard output.")
@click.option("--sort", "sort_by", help="Sort by this column (descending).")
@click.option("--head", type=int, help="Only the first N rows.")
@click.option("--space", help="Only this space.")
@click.option("--dataset", help="Only this dataset.")
def export(results, fmt, output, sort_by, head, space, dataset) -> None:
    """One row per (space, dataset, arch): index, arch, one column per proxy, val/test accuracy."""
    from ..report.export import export_frame

    text = export_frame(results, fmt=fmt, sort_by=sort_by, head=head, space=space, dataset=dataset)
    if output:
        try:
            Path(output).write_text(text)
        except OSError as err:
            raise UsageError(f"{output}: cannot write ({err.strerror})") from None
    else:
        sys.stdout.write(text)
