"""Start-up time of the commands that compute nothing, against importing their own libraries.

``--help``, ``--version``, ``status``, ``export``, ``correlate`` and ``merge`` read HDF5 with
h5py and pandas and never import torch; this script measures each against
``python -c "import h5py, pandas"`` on the same machine (median of --repeats runs, after one warm-up
run each) and prints the difference. Usage::

    python scripts/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str], cwd: Path, repeats: int) -> float:
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        subprocess.run(
            [py, "-m", "zcbench", "score", "--space", "nb201", "--sample", "5", "--proxy", "params", "--proxy",
             "synflow", "--out", "r.h5", "--quiet"],
            cwd=d, capture_output=True, check=True,
        )  # fmt: skip
        base = timed([py, "-c", "import h5py, pandas"], d, a.repeats)
        torch_t = timed([py, "-c", "import torch"], d, a.repeats)
        rows = [("python -c 'import h5py, pandas' (baseline)", base), ("python -c 'import torch' (for scale)", torch_t)]
        for args in (
            ["--help"], ["--version"], ["status", "r.h5"], ["export", "r.h5"], ["correlate", "r.h5"],
            ["merge", "r.h5", "-o", "m.h5"],
        ):  # fmt: skip
            (d / "m.h5").unlink(missing_ok=True)
            rows.append(("zcbench " + " ".join(args), timed([py, "-m", "zcbench", *args], d, a.repeats)))
    print(f"{'command':<48} {'median s':>9} {'- baseline':>11}")
    for name, t in rows:
        print(f"{name:<48} {t:9.3f} {t - base:+11.3f}")


if __name__ == "__main__":
    main()
