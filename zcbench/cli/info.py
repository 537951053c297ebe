"""``zcbench spaces`` and ``zcbench proxies``: what is available, with its source."""

from __future__ import annotations

import click

from ..proxies import PROXIES
from ..spaces import SPACES
from .app import main


@main.command()
def spaces() -> None:
    """List the benchmark spaces, their datasets and official dump files."""
    for name, cls in SPACES.items():
        click.echo(f"{name:14s} {cls.description}")
        click.echo(f"{'':14s} datasets: {', '.join(cls.datasets)}")
        if cls.dump_files:
            click.echo(f"{'':14s} dumps:    {', '.join(cls.dump_files)}")


@main.command()
@click.argument("patterns", nargs=-1)
def proxies(patterns: tuple[str, ...]) -> None:
    """List proxies (optionally matching PATTERNS such as 'syn*'), what each needs and its paper."""
    names = PROXIES.select(patterns) if patterns else PROXIES.names()
    click.echo(f"{'proxy':10s} {'needs':28s} paper")
    for n in names:
        s = PROXIES.get(n)
        needs = [
            w
            for w, on in (
                ("images", s.images),
                ("labels", s.labels),
                ("grad", s.grad),
                ("float64", s.float64),
                ("head", s.head),
            )
            if on
        ] or ["nothing (data-free)"]
        click.echo(f"{n:10s} {', '.join(needs):28s} {s.paper}")
