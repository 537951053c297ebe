"""A miniature ``transnas-bench_v10141024.pth`` in the exact official layout (FORMATS §4.1).

Metric and info names are those of the official README / training configs; per-epoch lists have
``total_epochs`` entries. ``model_params`` are counts (the official ``sum(p.numel())``) derived
from *published* numbers, not from our builder: NASLib's ``zc_transbench101_{micro,macro}.json``
(commit e5a821c) lists ``params`` (M) for class_scene networks built with a 63-class head
(``Linear(C, 63)``); the official heads have 47 (class_scene), 75 (class_object) and 9
(room_layout) outputs, so each count is the published one shifted by ``(K - 63) * (C + 1)``.
One micro cell, all-zero ``0_00_000``, is derived by hand instead (stem only, see tests).
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

TASKS = ["class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic", "normal", "autoencoder"]
INFO_NAMES = ["inference_time", "encoder_params", "model_params", "model_FLOPs", "encoder_FLOPs"]
_CLS = [
    "train_top1",
    "train_top5",
    "train_loss",
    "valid_top1",
    "valid_top5",
    "valid_loss",
    "test_top1",
    "test_top5",
    "test_loss",
    "time_elapsed",
]
METRICS = {
    "class_scene": _CLS,
    "class_object": _CLS,
    "jigsaw": _CLS,
    "room_layout": [
        "train_loss",
        "train_neg_loss",
        "valid_loss",
        "valid_neg_loss",
        "test_loss",
        "test_neg_loss",
        "time_elapsed",
    ],
    "segmentsemantic": [
        "train_loss",
        "train_acc",
        "train_mIoU",
        "valid_loss",
        "valid_acc",
        "valid_mIoU",
        "test_loss",
        "test_acc",
        "test_mIoU",
        "time_elapsed",
    ],
    "normal": [
        "train_l1_loss",
        "train_ssim",
        "valid_l1_loss",
        "valid_ssim",
        "test_l1_loss",
        "test_ssim",
        "time_elapsed",
    ],
    "autoencoder": [
        "train_l1_loss",
        "train_ssim",
        "valid_l1_loss",
        "valid_ssim",
        "test_l1_loss",
        "test_ssim",
        "time_elapsed",
    ],
}
EPOCHS = {
    "class_scene": 25,
    "class_object": 25,
    "room_layout": 25,
    "jigsaw": 10,
    "segmentsemantic": 30,
    "normal": 30,
    "autoencoder": 30,
}

# arch -> (NASLib published params in M with a 63-way head, final channels C)
PUBLISHED_63 = {
    "64-1242-basic": (11.218783, 512),  # NASLib macro (1, 2, 4, 2, 0, 0)
    "64-121113-basic": (3.081183, 128),  # NASLib macro (1, 2, 1, 1, 1, 3)
    "64-41414-1_00_210": (0.910687, 512),  # NASLib micro (1, 0, 0, 2, 1, 0)
    "64-41414-1_00_223": (9.440607, 512),  # NASLib micro (1, 0, 0, 2, 2, 3)
    "64-41414-0_11_233": (16.256351, 512),  # NASLib micro (0, 1, 1, 2, 3, 3)
}
HEAD_OUT = {"class_scene": 47, "class_object": 75, "room_layout": 9}
# stem conv 3*32*9 + BN(32) 64 + conv 32*64*9 + BN(64) 128 = 19488, all edges Zero, + Linear(512, K)
HAND_ZERO_CELL = "64-41414-0_00_000"
MACRO = ["64-1242-basic", "64-121113-basic"]
MICRO = ["64-41414-1_00_210", HAND_ZERO_CELL, "64-41414-1_00_223", "64-41414-0_11_233"]


def expected_params(arch: str, task: str) -> int | None:
    """Parameter count of the official ``task`` model (head tasks only) from the sources above."""
    if task not in HEAD_OUT:
        return None
    k = HEAD_OUT[task]
    if arch == HAND_ZERO_CELL:
        return 19488 + 512 * k + k
    published, c = PUBLISHED_63[arch]
    return round(published * 1e6) + (k - 63) * (c + 1)


def _series(rng: random.Random, n: int, lo: float, hi: float) -> list[float]:
    return [rng.uniform(lo, hi) for _ in range(n)]


def _task_entry(rng: random.Random, arch: str, task: str) -> dict:
    n = EPOCHS[task]
    metrics: dict = {}
    for m in METRICS[task]:
        if m == "time_elapsed":
            metrics[m] = [f"[{i // 60:02d}:{i % 60:02d}:00]" for i in range(n)]
        elif "neg_loss" in m:
            metrics[m] = _series(rng, n, -2.0, -0.5)
        elif "loss" in m:
            metrics[m] = _series(rng, n, 0.1, 3.0)
        elif "ssim" in m or "mIoU" in m or m.endswith("_acc"):
            metrics[m] = _series(rng, n, 0.05, 0.9)
        else:
            metrics[m] = _series(rng, n, 1.0, 80.0)
    params = expected_params(arch, task)
    info = {
        "inference_time": rng.uniform(0.005, 0.05),
        "encoder_params": "" if params is None else params - 1000,
        "model_params": "" if params is None else params,
        "model_FLOPs": rng.uniform(1e8, 5e9),
        "encoder_FLOPs": rng.uniform(1e8, 5e9),
    }
    return {"total_epochs": n, "model_info": info, "metrics": metrics}


def make_tnb101_dump(path: Path, seed: int = 0) -> Path:
    """Write the miniature dump (macro half first, as the official file) and return its path."""
    rng = random.Random(seed)
    data: dict = {"macro": {}, "micro": {}}
    for half, archs in (("macro", MACRO), ("micro", MICRO)):
        for arch in archs:
            data[half][arch] = {t: _task_entry(rng, arch, t) for t in TASKS}
    obj = {"metrics_dict": METRICS, "info_names": INFO_NAMES, "task_list": TASKS, "data": data}
    path = Path(path)
    torch.save(obj, path)
    return path
