"""The minibatch each architecture is scored on: real images from ``--data-dir`` or seeded noise.

The batch depends only on (space, dataset, batch size, seed, dataload), so every proxy of every
architecture of a run sees the same images, whatever the worker or order. Which loader a space uses is
the space's business (``Space.make_batch``); this package only knows image formats and noise. Real images are drawn
from the training split as Abdelfattah et al.'s loader does (``random``: a seeded random batch;
``grasp``: ``dataload_info`` images of each class), with the same seeded train augmentation
(random crop with padding, horizontal flip) and the space's normalisation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, UsageError
from .images import EXPECTED, load_train_split
from .spec import InputSpec

DATALOADS = ("random", "grasp")


def default_data_dir() -> str | None:
    return os.environ.get("ZCBENCH_DATA")


def synthetic_batch(spec: InputSpec, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded N(0,1) inputs of the right shape (already in normalised units) and uniform labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((batch_size, *spec.shape), generator=g)
    if spec.task == "classification":
        y = torch.randint(0, spec.num_classes, (batch_size,), generator=g)
    else:
        y = torch.randn((batch_size, *spec.target_shape), generator=g)
    return x, y


def _augment(images: np.ndarray, rng: np.random.Generator, pad: int) -> np.ndarray:
    """RandomCrop(size, padding=pad) + RandomHorizontalFlip, seeded."""
    n, h, w, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    out = np.empty_like(images)
    for i in range(n):
        dy, dx = rng.integers(0, 2 * pad + 1, size=2)
        crop = padded[i, dy : dy + h, dx : dx + w]
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return out


def image_batch(
    dataset: str,
    spec: InputSpec,
    batch_size: int,
    seed: int,
    data_dir: str | Path,
    dataload: str = "random",
    dataload_info: int = 1,
    augment: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A normalised real-image minibatch from the training split of ``dataset``: exactly what the run key says
    (``batch_size`` images, or ``dataload_info`` of every class), else a one-line DataError naming what the
    data has — a smaller batch would be stored under a key that claims the larger one."""
    images, labels = load_train_split(dataset, str(data_dir))
    rng = np.random.default_rng(seed)
    if dataload == "random":
        if batch_size > len(images):
            raise DataError(f"--batch-size {batch_size}: {data_dir} holds only {len(images)} {dataset} training images")
        idx = rng.choice(len(images), size=batch_size, replace=False)
    elif dataload == "grasp":
        _check_per_class(dataset, data_dir, labels, spec.num_classes, dataload_info)
        perm = rng.permutation(len(images))
        idx = np.concatenate([perm[labels[perm] == c][:dataload_info] for c in range(spec.num_classes)])
    else:
        raise UsageError(f"unknown dataload {dataload!r} (choose from {', '.join(DATALOADS)})")
    batch = images[idx]
    if augment:
        batch = _augment(batch, rng, pad=2 if spec.shape[-1] == 16 else 4)
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1)
    std = torch.tensor(spec.std).view(1, -1, 1, 1)
    return (x - mean) / std, torch.from_numpy(labels[idx])


def _check_per_class(dataset: str, data_dir, labels: np.ndarray, classes: int, per_class: int) -> None:
    counts = np.bincount(labels, minlength=classes)[:classes]
    short = np.flatnonzero(counts < per_class)
    if short.size:
        c = int(short[np.argmin(counts[short])])
        raise DataError(
            f"--dataload grasp --dataload-info {per_class}: {short.size} of the {classes} {dataset} classes under "
            f"{data_dir} have fewer than {per_class} training images (class {c}: {int(counts[c])})"
        )


def check_images(dataset: str, data_dir: str | Path | None) -> None:
    """Fail before any work starts when CIFAR/ImageNet16 images are needed but not there (one-line DataError)."""
    from .images import expected_files

    data_dir = data_dir or default_data_dir()
    if dataset not in EXPECTED:
        raise DataError(f"no image reader for dataset {dataset!r}")
    if not data_dir:
        raise DataError(
            f"proxy needs {dataset} images: give --data-dir DIR (or set ZCBENCH_DATA) holding "
            f"{', '.join(expected_files(dataset)[:2])}, ... (see data/README.md), or use --synthetic"
        )
    missing = [f for f in expected_files(dataset) if not (Path(data_dir) / f).is_file()]
    if missing:
        raise DataError(
            f"{dataset} images not found under {data_dir}: missing {', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''} (see data/README.md, or use --synthetic)"
        )
