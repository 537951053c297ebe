"""Readers for the image datasets in their official python-pickle layouts (FORMATS §1.7, §5).

``DIR/cifar-10-batches-py/data_batch_{1..5}``, ``DIR/cifar-100-python/train`` and
``DIR/ImageNet16/train_data_batch_{1..10}`` (ImageNet16-120 keeps labels 1..120, target = label-1).
Every file is a pickle of plain arrays, read through the allow-listed unpickler. Images come back
as uint8 arrays (N, H, W, 3) with int64 labels.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import DataError, DumpError
from ..safe_pickle import safe_load

EXPECTED = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "labels", 32),
    "cifar100": ("cifar-100-python", ["train"], "fine_labels", 32),
    "ImageNet16-120": ("ImageNet16", [f"train_data_batch_{i}" for i in range(1, 11)], "labels", 16),
}


def expected_files(dataset: str) -> list[str]:
    folder, files, _, _ = EXPECTED[dataset]
    return [f"{folder}/{f}" for f in files]


def _read_batch(path: Path, label_key: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            obj = safe_load(fh, str(path))
    except DumpError as err:
        raise DataError(str(err)) from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: not a CIFAR/ImageNet16 python batch (top level {type(obj).__name__})")
    obj = {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}
    if "data" not in obj or label_key not in obj:
        raise DataError(f"{path}: batch lacks 'data' or {label_key!r}")
    data = np.asarray(obj["data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * size * size:
        raise DataError(f"{path}: 'data' has shape {data.shape}, expected (n, {3 * size * size})")
    images = data.reshape(-1, 3, size, size).transpose(0, 2, 3, 1)
    labels = np.asarray(obj[label_key], dtype=np.int64)
    if len(labels) != len(images):
        raise DataError(f"{path}: {len(images)} images but {len(labels)} labels")
    return images, labels


@lru_cache(maxsize=4)
def load_train_split(dataset: str, data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """The training split of ``dataset`` under ``data_dir`` (cached per process)."""
    folder, files, label_key, size = EXPECTED[dataset]
    root = Path(data_dir) / folder
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        raise DataError(
            f"{dataset} images not found: expected {', '.join(expected_files(dataset))} under {data_dir} "
            "(see data/README.md, or use --synthetic)"
        )
    parts = [_read_batch(root / f, label_key, size) for f in files]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if dataset == "ImageNet16-120":
        keep = (labels >= 1) & (labels <= 120)
        images, labels = images[keep], labels[keep] - 1
    return images, labels
