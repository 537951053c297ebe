"""Benchmark search spaces, registered by name (``zcbench spaces`` lists them)."""

from __future__ import annotations

from ..registry import Registry
from .base import Benchmark, InputSpec, Record, Space

SPACES: Registry[type[Space]] = Registry("space")


def register_space(cls: type[Space]) -> type[Space]:
    """Class decorator: register a :class:`Space` subclass under its ``name``."""
    return SPACES.add(cls.name, cls)


def get_space(name: str) -> Space:
    """An instance of the space called ``name`` (raises UsageError for an unknown one)."""
    return SPACES.get(name)()


# Importing the modules registers them.
from . import nb201  # noqa: E402,F401

for _mod in ("nb101", "nb301", "tnb101"):
    try:
        __import__(f"{__name__}.{_mod}")
    except ModuleNotFoundError as _err:  # a space still being written is simply absent
        if _err.name != f"{__name__}.{_mod}":
            raise

__all__ = ["SPACES", "Space", "Benchmark", "Record", "InputSpec", "register_space", "get_space"]
