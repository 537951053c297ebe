"""What one input sample of a (space, dataset) looks like: the contract between spaces, data and proxies."""

from __future__ import annotations

from dataclasses import dataclass


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
