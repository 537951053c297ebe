"""Running a planned score job: devices, worker processes, faults, progress, and the single writer.

One module per concern: ``run`` (the whole run, start to end), ``devices`` (device specs, what a worker
sees), ``gpu`` (a worker's numerics, CUDA context, identity, dead contexts), ``worker`` (what one worker is),
``fleet`` (what an executor is given, and its workers' reports), ``faults`` (the one fault policy every
executor follows), ``local`` (spawned processes), ``ray_pool`` (Ray actors), ``serial`` (in this process),
``recorder`` (results → durable store rows) and ``monitor`` (bar, log lines, Ctrl-C).
"""

from ..errors import EngineError, Interrupted
from .devices import resolve_devices
from .plan import shard_of
from .run import RunSummary, run_scoring

__all__ = ["EngineError", "Interrupted", "RunSummary", "resolve_devices", "run_scoring", "shard_of"]
