"""The interface every benchmark space implements.

A space knows three things about its benchmark: how an architecture is written (parse, enumerate,
official index), how the official dump stores trained results (``load_dump``), and how the exact
network of an architecture is built (``build``). Architectures travel through zcbench as their
canonical string, so they can be stored, compared and printed without the space at hand.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ..errors import ArchError, UsageError


@dataclass(frozen=True)
class InputSpec:
    """What one input sample of a (space, dataset) looks like and what the network predicts.

    ``shape`` is the per-sample shape without the batch axis (``(3, 32, 32)`` for CIFAR,
    ``(9, 3, 64, 64)`` for jigsaw tiles). ``task`` is ``classification`` for a K-way head,
    otherwise a dense or regression task whose loss the space supplies.
    """

    shape: tuple[int, ...]
    num_classes: int
    task: str = "classification"
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    target_shape: tuple[int, ...] = ()  # per-sample target shape for non-classification tasks


@dataclass
class Record:
    """One architecture of a dump with its trained results (accuracies in %)."""

    index: int
    arch: str
    val_accuracy: float = float("nan")
    test_accuracy: float = float("nan")
    extra: dict = field(default_factory=dict)  # e.g. {'params': M, 'flops': MFLOPs} from the dump


@dataclass
class Benchmark:
    """The trained results a dump holds for one dataset, in official index order."""

    space: str
    dataset: str
    source: str
    records: list[Record]

    def by_arch(self) -> dict[str, Record]:
        return {r.arch: r for r in self.records}

    def by_index(self) -> dict[int, Record]:
        return {r.index: r for r in self.records}


class Space(ABC):
    """One benchmark search space. Subclasses are registered in ``zcbench.spaces.SPACES``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    datasets: ClassVar[tuple[str, ...]]
    dump_files: ClassVar[tuple[str, ...]] = ()  # official file names, for messages and docs
    variants: ClassVar[tuple[str, ...]] = ()  # network variants beside the default (``--variant``)

    # -- architectures -----------------------------------------------------------------------
    @abstractmethod
    def parse(self, text: str) -> str:
        """Validate an architecture as a user wrote it (string, index, spec) and return the
        canonical string. Raises :class:`ArchError` with a one-line reason."""

    def index_of(self, arch: str) -> int | None:
        """Official index of a canonical architecture, or ``None`` where the space has none."""
        return None

    def enumerate(self) -> list[str]:
        """Every architecture of the space in official order (only for finite spaces)."""
        raise UsageError(f"space {self.name!r} cannot be enumerated without a dump; give --dump or --archs")

    def neighbours(self, arch: str) -> list[str]:
        """Every architecture one mutation away from ``arch`` (canonical strings, deterministic
        order, no duplicates, never ``arch``): the move set of ``zcbench search``'s evolution."""
        raise UsageError(f"space {self.name!r} has no mutation operator; search is not available")

    def sample(self, n: int, seed: int) -> list[str]:
        """``n`` distinct architectures drawn uniformly with ``seed`` (default: from ``enumerate``)."""
        archs = self.enumerate()
        if n >= len(archs):
            return list(archs)
        return random.Random(seed).sample(archs, n)

    # -- trained results ---------------------------------------------------------------------
    @abstractmethod
    def load_dump(self, path: str | Path, dataset: str, epochs: int | None = None) -> Benchmark:
        """Read the official dump at ``path`` and return the results for ``dataset``.
        Raises :class:`DumpError` for a missing, truncated, foreign or unsafe file."""

    # -- networks ----------------------------------------------------------------------------
    @abstractmethod
    def build(self, arch: str, dataset: str, **options) -> nn.Module:
        """The exact network of ``arch`` for ``dataset`` at PyTorch default init.

        ``forward(x)`` returns one tensor (logits, or the dense prediction); networks with a global
        pooling head also expose ``forward_features(x)``, the feature map before pooling."""

    @abstractmethod
    def input_spec(self, dataset: str) -> InputSpec:
        """Shape, classes and normalisation of ``dataset`` in this space."""

    def loss_fn(self, dataset: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The training loss of the task (cross-entropy for classification)."""
        return nn.functional.cross_entropy

    # -- helpers -----------------------------------------------------------------------------
    def check_dataset(self, dataset: str) -> str:
        if dataset not in self.datasets:
            raise UsageError(f"space {self.name!r} has no dataset {dataset!r} (choose from {', '.join(self.datasets)})")
        return dataset

    def check_variant(self, variant: str | None) -> str | None:
        if variant and variant not in self.variants:
            have = ", ".join(self.variants) if self.variants else "none"
            raise UsageError(f"space {self.name!r} has no network variant {variant!r} (variants: {have})")
        return variant

    def parse_many(self, lines: Sequence[str]) -> list[str]:
        out = []
        for i, line in enumerate(lines, 1):
            try:
                out.append(self.parse(line))
            except ArchError as err:
                raise ArchError(f"line {i}: {err}") from None
        return out
