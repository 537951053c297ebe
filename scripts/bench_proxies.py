#!/usr/bin/env python
"""Same as ``zcbench bench``: time the plain proxy loop against the shared passes (see zcbench/bench.py)."""

from zcbench.cli.app import main
import zcbench.cli  # noqa: F401  (attaches the commands)

if __name__ == "__main__":
    import sys

    main(["bench", *sys.argv[1:]])
