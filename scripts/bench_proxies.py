#!/usr/bin/env python
"""Same as ``zcbench bench``: time the plain proxy loop against the shared passes (see zcbench/bench.py)."""

import zcbench.cli  # noqa: F401  (attaches the commands)
from zcbench.cli.app import main

if __name__ == "__main__":
    import sys

    main(["bench", *sys.argv[1:]])
