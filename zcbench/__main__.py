"""``python -m zcbench`` = the ``zcbench`` command."""

from .cli import main

main(prog_name="zcbench")
