"""``zcbench spaces`` and ``zcbench proxies``: what is available, with its source."""

from __future__ import annotations

import click

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
@click.option("--plugin", "plugins", multiple=True, help="Also load this plugin file or module (repeatable).")
def proxies(patterns: tuple[str, ...], plugins: tuple[str, ...]) -> None:
    """List proxies (optionally matching PATTERNS such as 'syn*'): what each needs, its options, its paper.

    Plugins (--plugin, $ZCBENCH_PLUGINS, installed 'zcbench.proxies' entry points) are listed with their
    origin and code fingerprint."""
    from ..proxies import PROXIES
    from ..proxies.plugins import load_plugins

    load_plugins(plugins)
    names = PROXIES.select(patterns) if patterns else PROXIES.names()
    click.echo(f"{'proxy':10s} {'needs':28s} paper")
    for n in names:
        s = PROXIES.get(n)
        click.echo(f"{n:10s} {', '.join(s.needs()):28s} {s.paper}")
        if not s.builtin:
            click.echo(f"{'':10s} from {s.origin} (code {s.code or 'unversioned'})")
        for k, opt in s.options.items():
            default = "required" if opt.required else f"default {opt.default}"
            click.echo(f"{'':10s} --option {k}=<{opt.type.__name__}> ({default}) {opt.doc}")
