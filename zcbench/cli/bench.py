"""``zcbench bench`` (plain one-proxy-at-a-time loop vs one build and shared passes, timed on this device) and
``zcbench bench-engine`` (end-to-end architectures/s for 0..N workers): options only; the work is in
``engine.bench_proxies`` and ``engine.bench_engine``."""

from __future__ import annotations

import click

from ..settings import BENCH_ENGINE_ARCHS, BENCH_ENGINE_PROXIES, BENCH_SPACE
from . import options
from .app import main


@main.command()
@options.space(default=BENCH_SPACE, show_default=True)
@options.dataset()
@options.proxy("proxy_names", default=("all",), show_default=True)
@click.option(
    "--archs", "n_archs", type=click.IntRange(min=1), default=3, show_default=True, help="Architectures sampled."
)
@options.seed()
@options.batch_size()
@options.device()
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="torch intra-op threads (default: as score's workers, $ZCBENCH_WORKER_THREADS or 1).",
)
@options.data_dir(help="Real images (default: synthetic).")
@options.proxy_option()
@options.plugin()
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


@main.command("bench-engine")
@options.space(default=BENCH_SPACE, show_default=True)
@options.dataset()
@options.proxy("proxy_names", default=BENCH_ENGINE_PROXIES, show_default=True)
@click.option(
    "--archs",
    "n_archs",
    type=click.IntRange(min=1),
    default=BENCH_ENGINE_ARCHS,
    show_default=True,
    help="Architectures per run.",
)
@click.option("--max-workers", type=click.IntRange(min=0), help="Time 0..N workers (default: number of CPU cores).")
@options.device(help="cpu or one GPU (cuda:0).")
@options.data_dir(help="Image data (default: synthetic).")
@options.plugin()
def bench_engine(space, dataset, proxy_names, n_archs, max_workers, device, data_dir, plugins) -> None:
    """End-to-end architectures/s of `score` for 0 (in-process), 1..N workers on one device (on a GPU: with
    the peak memory of one worker)."""
    import os

    from ..engine.bench_engine import engine_throughput, format_throughput
    from ..proxies import select_proxies
    from ..proxies.plugins import load_plugins
    from ..settings import RunSettings

    load_plugins(plugins)  # before the proxy names are expanded: a plugin's proxy is a name like any other
    n = max_workers if max_workers is not None else (os.cpu_count() or 1)
    settings = RunSettings(
        space, dataset, tuple(select_proxies(proxy_names).names), synthetic=data_dir is None, data_dir=data_dir,
        plugins=tuple(plugins),
    )  # fmt: skip
    rows = engine_throughput(settings, n_archs=n_archs, workers=list(range(0, n + 1)), device=device)
    click.echo(format_throughput(rows), nl=False)
