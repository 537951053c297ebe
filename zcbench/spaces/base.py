"""The interface every benchmark space implements.

A space knows everything zcbench needs about its benchmark, so that adding a benchmark touches
``spaces/`` and nothing else (docs/architecture.md, "Adding a space"): how an architecture is
written (parse, enumerate, official index, canonical key, search encoding, NASLib's encoding), how the
official dump stores trained results (``load_dump``), how the exact network of an architecture is
built (``build``), and what its inputs are and where they come from (``input_spec``, ``check_data``,
``make_batch``). Architectures travel through zcbench as their canonical string, so they can be
stored, compared and printed without the space at hand.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from ..data.spec import InputSpec
from ..errors import ArchError, UsageError


def nested_sample(population: Sequence[str], k: int, seed: int) -> list[str]:
    """``k`` distinct items of ``population`` drawn uniformly with ``seed``, one index at a time, so that every
    smaller ``k`` is a prefix of a larger one (``--sample 20`` is part of ``--sample 150``). The draws are
    exactly those ``random.Random(seed).sample`` makes when it draws index by index (a sample small next to its
    population), so such samples are the ones zcbench has always drawn."""
    n = len(population)
    if not 0 <= k <= n:
        raise UsageError(f"cannot sample {k} of {n}")
    rng = random.Random(seed)
    picked: set[int] = set()
    out = []
    for _ in range(k):
        j = rng.randrange(n)
        while j in picked:
            j = rng.randrange(n)
        picked.add(j)
        out.append(population[j])
    return out


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
    size: ClassVar[int | None] = None  # number of architectures (None: too many to count)
    default_epochs: ClassVar[int | None] = None  # the schedule load_dump reads without --epochs (None: not a count)
    dataloads: ClassVar[tuple[str, ...]] = ("random", "grasp")  # minibatch loaders make_batch supports

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

    def canonical_key(self, arch: str) -> str:
        """A key equal for every spelling of the same architecture (default: the canonical string itself;
        NB101: the module hash, since isomorphic graphs are one architecture)."""
        return arch

    def encode(self, arch: str) -> np.ndarray | None:
        """A fixed-length numeric encoding of ``arch``: the architecture features of ``zcbench predict`` and of
        the search predictor. None where a space has none (every built-in space has one)."""
        return None

    def search_accuracies(self, bench: Benchmark) -> dict[str, tuple[float, float]]:
        """(validation, test) accuracy of each architecture of ``bench`` as search papers on this benchmark
        report them (``zcbench search --dump``); by default the dump's own pair."""
        return {r.arch: (r.val_accuracy, r.test_accuracy) for r in bench.records}

    def from_naslib(self, key: str) -> str:
        """The canonical string of an architecture written in NASLib's encoding (the keys of the
        NAS-Bench-Suite-Zero files)."""
        raise ArchError(f"space {self.name!r} has no NASLib encoding")

    def sample(self, n: int, seed: int) -> list[str]:
        """``n`` distinct architectures drawn uniformly with ``seed`` (default: from ``enumerate``), nested:
        a smaller ``n`` gives the first architectures of a larger one (:func:`nested_sample`)."""
        archs = self.enumerate()
        if n >= len(archs):
            return list(archs)
        return nested_sample(archs, n, seed)

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

    # -- inputs ------------------------------------------------------------------------------
    def check_data(self, dataset: str, data_dir: str | Path | None) -> None:
        """Raise DataError (one line) before any work when real inputs are needed but absent.
        Default: the CIFAR/ImageNet16 python batches (``zcbench.data.images``)."""
        from ..data import check_images

        check_images(dataset, data_dir)

    def make_batch(
        self,
        dataset: str,
        batch_size: int,
        seed: int,
        *,
        data_dir: str | Path | None = None,
        synthetic: bool = False,
        dataload: str = "random",
        dataload_info: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The run's minibatch: seeded noise of the right shape, or real training images with the space's
        normalisation (default: CIFAR/ImageNet16 as Abdelfattah et al.'s loader draws them)."""
        from ..data import default_data_dir, image_batch, synthetic_batch

        spec = self.input_spec(dataset)
        if synthetic:
            return synthetic_batch(spec, batch_size, seed)
        self.check_data(dataset, data_dir)
        data_dir = data_dir or default_data_dir()
        return image_batch(dataset, spec, batch_size, seed, data_dir, dataload, dataload_info)

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
