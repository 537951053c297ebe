"""A tiny name → object registry with wildcard lookup (in the manner of timm's ``@register_model``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from .errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to registered objects; ``select`` expands ``all`` and shell wildcards."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, obj: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._items[name] = obj
        return obj

    def replace(self, name: str, obj: T) -> T:
        """Swap the object registered as ``name`` (a plugin's spec gains its origin after import)."""
        self.get(name)
        self._items[name] = obj
        return obj

    def remove(self, name: str) -> None:
        """Forget ``name`` (a plugin file reloaded after an edit re-registers its proxies)."""
        self._items.pop(name, None)

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form: ``@REGISTRY.register("name")``."""

        def deco(obj: T) -> T:
            return self.add(name, obj)

        return deco

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def __iter__(self):
        return iter(self._items)

    def names(self) -> list[str]:
        return list(self._items)

    def items(self):
        return self._items.items()

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise UsageError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def select(self, patterns: Iterable[str]) -> list[str]:
        """Expand names, ``all`` and wildcards (``syn*``) into registered names, in registry order,
        without duplicates. A pattern that matches nothing is an error."""
        chosen: list[str] = []
        for pat in patterns:
            for part in str(pat).split(","):
                part = part.strip()
                if not part:
                    continue
                if part == "all":
                    hits = list(self._items)
                elif any(c in part for c in "*?["):
                    hits = [n for n in self._items if fnmatch.fnmatchcase(n, part)]
                else:
                    self.get(part)
                    hits = [part]
                if not hits:
                    known = ", ".join(sorted(self._items))
                    raise UsageError(f"no {self.kind} matches {part!r} (known: {known})")
                for h in hits:
                    if h not in chosen:
                        chosen.append(h)
        return chosen
