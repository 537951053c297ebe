"""``zcbench download``: option parsing only; the work is in ``zcbench.download``."""

from __future__ import annotations

from pathlib import Path

import click

from .app import main


@main.command()
@click.argument("names", nargs=-1)
@click.option(
    "--to",
    "to",
    envvar="ZCBENCH_DATA",
    default="data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Data folder the readers use (--data-dir, the Makefile's DATA) [$ZCBENCH_DATA].",
)
@click.option("--list", "show_list", is_flag=True, help="Show every download: size, source, checksum, status.")
@click.option("--for", "for_target", metavar="TARGET", help="Everything a Makefile target needs (reproduce-...).")
@click.option("--force", is_flag=True, help="Download again even when present (replaces a changed file).")
@click.option("--verify", is_flag=True, help="Re-hash installed files instead of trusting size and mtime.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def download(names, to, show_list, for_target, force, verify, quiet) -> None:
    """Fetch benchmark dumps and image sets of data/README.md into DIR, verified.

    NAMES are catalog names (--list shows them; 'nb201-*' style patterns work). Known checksums
    are checked; otherwise the file's structure is, and its SHA-256 is recorded in
    DIR/zcbench-downloads.json so later runs notice a changed file. Interrupted downloads resume.
    $ZCBENCH_DOWNLOAD_CATALOG=FILE replaces the built-in catalog (a mirror).
    """
    from ..download import download as run_download
    from ..download import list_entries

    root = Path(to)
    if show_list:
        click.echo(list_entries(root, names, for_target, verify))
        return
    run_download(names, for_target, root, force=force, verify=verify, quiet=quiet, echo=click.echo)
