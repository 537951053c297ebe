"""Error types that the CLI turns into one clear line and a non-zero exit.

Every failure a user can cause (bad file, bad name, bad string) raises a subclass of
:class:`ZcbenchError`; anything else is a bug and is allowed to show a traceback.
"""


class ZcbenchError(Exception):
    """Base of every user-facing error; ``str(err)`` is the one line shown."""

    exit_code = 2


class UsageError(ZcbenchError):
    """Unknown space, proxy, dataset or an inconsistent option set."""


class ArchError(ZcbenchError):
    """An architecture string, index or spec that the space does not accept."""


class DumpError(ZcbenchError):
    """A benchmark dump that is missing, truncated, of another benchmark, or unsafe."""


class DataError(ZcbenchError):
    """Image data that a proxy needs is missing or malformed."""


class StoreError(ZcbenchError):
    """The HDF5 results file is unreadable, foreign, or cannot be written."""


class PluginError(UsageError):
    """A plugin proxy file, module or entry point that cannot be loaded."""


class EngineError(ZcbenchError):
    """Workers cannot run at all (e.g. they die at start-up)."""


class Interrupted(ZcbenchError):
    """Ctrl-C / SIGTERM: finished work is saved; the message says how to resume."""

    exit_code = 130


class DownloadError(ZcbenchError):
    """A download that cannot be fetched, fails its checksum or structure check, or cannot be installed."""
