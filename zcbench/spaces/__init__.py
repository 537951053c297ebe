"""Benchmark search spaces, registered by name (``zcbench spaces`` lists them)."""

from __future__ import annotations

from ..data.spec import InputSpec
from ..registry import Registry
from .base import Benchmark, Record, Space

SPACES: Registry[type[Space]] = Registry("space")


def register_space(cls: type[Space]) -> type[Space]:
    """Class decorator: register a :class:`Space` subclass under its ``name``."""
    return SPACES.add(cls.name, cls)


def get_space(name: str) -> Space:
    """An instance of the space called ``name`` (raises UsageError for an unknown one). A store name with a
    network variant (``nb201[samsung]``) gives its space: architectures and search do not depend on it."""
    base, _, variant = str(name).partition("[")
    space = SPACES.get(base)()
    if variant:
        space.check_variant(variant.rstrip("]"))
    return space


# Importing the modules registers them (a missing module is a bug, and fails loudly).
from . import nb101, nb201, nb301, tnb101  # noqa: E402,F401

__all__ = ["SPACES", "Space", "Benchmark", "Record", "InputSpec", "register_space", "get_space"]
