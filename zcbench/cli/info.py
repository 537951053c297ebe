"""``zcbench spaces`` and ``zcbench proxies``: what is available, with its source."""

from __future__ import annotations

import click

from . import options
from .app import main


@main.command()
def spaces() -> None:
    """List the benchmark spaces, their datasets and official dump files."""
    from ..spaces import SPACES

    for name, cls in SPACES.items():
        click.echo(f"{name:14s} {cls.description}")
        click.echo(f"{'':14s} datasets: {', '.join(cls.datasets)}")
        if cls.dump_files:
            click.echo(f"{'':14s} dumps:    {', '.join(cls.dump_files)}")


@main.command()
@click.argument("patterns", nargs=-1)
@options.plugin(help="Also load this plugin file or module (repeatable).")
def proxies(patterns: tuple[str, ...], plugins: tuple[str, ...]) -> None:
    """List proxies (optionally matching PATTERNS such as 'syn*'): what each needs, its options, its paper.

    Plugins (--plugin, $ZCBENCH_PLUGINS, installed 'zcbench.proxies' entry points) are listed with their
    origin and code fingerprint."""
    from ..proxies import PROXIES
    from ..proxies.plugins import load_plugins

    load_plugins(plugins)
    names = PROXIES.select(patterns) if patterns else PROXIES.names()
    w = max([10, *(len(n) for n in names)])
    click.echo(f"{'proxy':{w}s} {'needs':28s} paper")
    for n in names:
        s = PROXIES.get(n)
        click.echo(f"{n:{w}s} {', '.join(s.needs()):28s} {s.paper}")
        if not s.builtin:
            click.echo(f"{'':{w}s} from {s.origin} (code {s.code or 'unversioned'})")
        if s.inputs:
            click.echo(f"{'':{w}s} {_combined(n, s.inputs)}")
        for k, opt in s.options.items():
            default = "required" if opt.required else f"default {opt.default}"
            click.echo(f"{'':{w}s} --option {k}=<{opt.type.__name__}> ({default}) {opt.doc}")


def _combined(name: str, inputs: tuple[str, ...]) -> str:
    """How a proxy with inputs is computed, and over which set of architectures the tables compute it."""
    from ..aggregates import AGGREGATE_SET, AGGREGATES

    agg = AGGREGATES.get(name)
    if agg is None:  # vote: a figure of pairs, no per-architecture value
        return f"computed by correlate from {', '.join(inputs)} (scoring stores those): majority vote on each pair"
    return f"computed from {', '.join(inputs)} (stored): {agg.rule}; {AGGREGATE_SET}"
