"""The click group and the one place that turns user errors into a single line.

Commands live in sibling modules (``score``, ``info``, ``report``, ``bench``...) and attach
themselves with ``@main.command()``; they parse options and call library functions, nothing more.
Every error a user can cause — a :class:`~zcbench.errors.ZcbenchError` from the library or a bad option
caught by click — ends as one line ``zcbench: error: ...`` on stderr and exit status 2, never a
traceback. Command modules import nothing heavy at import time (no torch), so ``--help``,
``--version`` and the commands that only read results start fast.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import ZcbenchError


class _Group(click.Group):
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

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's main, with its usage errors shortened to one line (the command's --help says the rest)."""
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("zcbench: interrupted", err=True)
            sys.exit(130)
        except click.ClickException as err:
            hint = ""
            ctx = getattr(err, "ctx", None)
            if isinstance(err, click.UsageError) and ctx is not None:
                hint = f" (see '{ctx.command_path} --help')"
            click.echo(f"zcbench: error: {err.format_message()}{hint}", err=True)
            sys.exit(err.exit_code)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zcbench")
def main() -> None:
    """zcbench: score NAS benchmark architectures with zero-cost proxies and see how well they rank."""
