"""Splitting a run over machines: ``--shard i/n`` keeps the architectures whose hash falls in shard i."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def shard_of(arch: str, n: int) -> int:
    """Which of ``n`` shards an arch belongs to: by hash, so it depends on nothing but the arch."""
    return int.from_bytes(hashlib.sha256(arch.encode()).digest()[:8], "big") % n


def apply_shard(archs: Sequence[str], shard: tuple[int, int] | None) -> list[str]:
    if shard is None:
        return list(archs)
    i, n = shard
    return [a for a in archs if shard_of(a, n) == i]
