"""The click group and the one place that turns user errors into a single line.

Commands live in sibling modules (``score``, ``info``, ``report``, ``bench``...) and attach
themselves with ``@main.command()``; they parse options and call library functions, nothing more.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import ZcbenchError


class _Group(click.Group):
    """A click group whose commands report :class:`ZcbenchError` as one line (exit 2)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ZcbenchError as err:
            click.echo(f"zcbench: error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("zcbench: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zcbench")
def main() -> None:
    """zcbench: score NAS benchmark architectures with zero-cost proxies and see how well they rank."""
