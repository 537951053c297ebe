"""The HDF5 results cache: many runs in one file, crash-safe, readable with h5py or pandas alone.

The layout and the rules are documented once, in :mod:`zcbench.store.schema`; ``writer`` holds the
single writer, ``reader`` everything that reads, ``rows`` the one rule both apply to a run's rows.
"""

from .reader import Coverage, coverage, iter_runs, load_frame, read_run, run_state
from .rows import check_results_file
from .schema import COLUMNS, FORMAT, FORMAT_VERSION, NO_TRUTH, Row, RunInfo, RunKey, identity_conflict
from .writer import ResultStore

__all__ = [
    "COLUMNS",
    "FORMAT",
    "FORMAT_VERSION",
    "NO_TRUTH",
    "Coverage",
    "ResultStore",
    "Row",
    "RunInfo",
    "RunKey",
    "check_results_file",
    "coverage",
    "identity_conflict",
    "iter_runs",
    "load_frame",
    "read_run",
    "run_state",
]
