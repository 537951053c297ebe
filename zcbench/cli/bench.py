"""``zcbench bench``: plain one-proxy-at-a-time loop vs one build and shared passes, timed on this device."""

from __future__ import annotations

import click

from ..settings import DEFAULT_BATCH_SIZE, DEFAULT_SEED
from .app import main


@main.command()
@click.option("--space", default="nb201", show_default=True, help="Benchmark space.")
@click.option("--dataset", help="Dataset or task (default: the space's first).")
@click.option(
    "--proxy",
    "proxy_names",
    multiple=True,
    default=("all",),
    show_default=True,
    help="Proxy name, wildcard or 'all'; repeatable.",
)
@click.option(
    "--archs", "n_archs", type=click.IntRange(min=1), default=3, show_default=True, help="Architectures sampled."
)
@click.option("--seed", type=click.IntRange(min=0), default=DEFAULT_SEED, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="torch intra-op threads (default: as score's workers, $ZCBENCH_WORKER_THREADS or 1).",
)
@click.option("--data-dir", type=click.Path(), envvar="ZCBENCH_DATA", help="Real images (default: synthetic).")
@click.option("--option", "options", multiple=True, help="Proxy option KEY=VALUE (e.g. swap_repeats=8).")
@click.option(
    "--plugin",
    "plugins",
    multiple=True,
    help="Python file or module registering proxies with @register_proxy; repeatable [$ZCBENCH_PLUGINS].",
)
def bench(space, dataset, proxy_names, n_archs, seed, batch_size, device, threads, data_dir, options, plugins) -> None:
    """Per-proxy and all-proxy seconds per architecture: plain loop vs shared passes, with the ratio, and
    the network builds and host-sync calls per architecture."""
    from ..engine.bench_proxies import BenchSettings, run_bench
    from ..settings import RunSettings, parse_option_items

    settings = RunSettings(
        space, dataset, tuple(proxy_names), seed=seed, batch_size=batch_size, synthetic=data_dir is None,
        data_dir=data_dir, options=parse_option_items(options), plugins=tuple(plugins),
    )  # fmt: skip
    res = run_bench(settings, BenchSettings(n_archs=n_archs, device=device, threads=threads))
    click.echo(res.table())
