#!/usr/bin/env python
"""Same as ``zcbench bench-engine``: end-to-end architectures/s of ``score`` for 0..N workers
(see zcbench/bench_engine.py). Example: ``python scripts/bench_engine.py --archs 96 --max-workers 4``."""

import zcbench.cli  # noqa: F401  (attaches the commands)
from zcbench.cli.app import main

if __name__ == "__main__":
    import sys

    main(["bench-engine", *sys.argv[1:]])
