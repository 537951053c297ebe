"""Running a planned score job: devices, worker processes, faults, progress, and the single writer.

One module per concern: ``run`` (the whole run, start to end), ``devices``, ``worker`` (what
one worker is), ``faults`` (the one fault policy both executors follow), ``local`` (spawned processes),
``ray_pool`` (Ray actors), ``serial`` (in this process), ``writer`` (results → durable store rows) and
``progress`` (bar, log lines, Ctrl-C).
"""

from ..errors import EngineError, Interrupted
from .devices import resolve_devices
from .plan import shard_of
from .run import RunSummary, run_scoring

__all__ = ["EngineError", "Interrupted", "RunSummary", "resolve_devices", "run_scoring", "shard_of"]
