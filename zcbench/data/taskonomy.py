"""Taskonomy minibatches for the seven TransNAS-Bench-101 tasks (real mini layout or synthetic).

Layout read (NASLib's ``taskonomydata_mini``, FORMATS §4.5)::

    ROOT/<building>/rgb/point_<p>_view_<v>_domain_rgb.png
    ROOT/<building>/class_object/..._domain_class_object.npy     1000 scores
    ROOT/<building>/class_scene/..._domain_class_scene.npy       365 scores
    ROOT/<building>/room_layout/..._domain_room_layout.npy       9 floats (already standardised)
    ROOT/<building>/segmentsemantic/..._domain_segmentsemantic.png
    ROOT/<building>/normal/..._domain_normal.png
    ROOT/<split>_split.json or <split>_filenames_final5k.json   (optional) buildings of a split:
        a list, or {"filename_list": [...]}, of building names or of per-building JSON files
        that list templates "<building>/{domain}/point_..._domain_{domain}.png"

``ROOT`` may also be a folder holding ``taskonomydata_mini/``. Without a split file every
building with an ``rgb/`` folder is used. Files that only the official code ships (class
selection masks ``class_object_final5k.npy`` / ``class_scene_final5k.npy`` and the jigsaw
``permutations_hamming_max_1000.npy``) are looked up in ROOT and its parent.

Transforms are the official *validation* transforms (``configs/train_from_scratch/<task>``,
``lib/data/load_ops.py``): Resize to 256x256 (bilinear), ToTensor, Normalize (classification and
room_layout mean .5224/.5222/.5221, std .2234/.2235/.2236; the others mean = std = 0.5). Targets:
class tasks get the 75/47 selected scores renormalised to sum 1 (soft targets); segmentation labels
are resized with NEAREST and mapped ``0 -> 1`` then ``-1`` (17 classes); normal targets are the
normal map in [0, 1]; autoencoder targets are the normalised input. Jigsaw: Resize to 255x255,
centre-crop 90 % and resize back, a seeded permutation of the 1000-set, one seeded 64x64 tile
inside each 85x85 cell, pixels in [0, 1] (no normalisation). The training-only random
augmentations (flip, colour jitter, grayscale) are not applied.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError

TASKS = ("class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic", "normal", "autoencoder")
CLASS_MEAN = (0.5224, 0.5222, 0.5221)
CLASS_STD = (0.2234, 0.2235, 0.2236)
HALF = (0.5, 0.5, 0.5)
IMAGE_SIZE = 256
JIGSAW_SIZE, JIGSAW_TILE, JIGSAW_CLASSES = 255, 64, 1000
SEG_CLASSES = 17


@dataclass(frozen=True)
class TaskInfo:
    """What a task's input and target look like (per sample)."""

    kind: str  # soft_classification | regression | classification | segmentation | pixel_regression
    outputs: int  # classes, regression outputs or output channels
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


TASK_INFO: dict[str, TaskInfo] = {
    "class_object": TaskInfo("soft_classification", 75, CLASS_MEAN, CLASS_STD),
    "class_scene": TaskInfo("soft_classification", 47, CLASS_MEAN, CLASS_STD),
    "room_layout": TaskInfo("regression", 9, CLASS_MEAN, CLASS_STD),
    "jigsaw": TaskInfo("classification", JIGSAW_CLASSES, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
    "segmentsemantic": TaskInfo("segmentation", SEG_CLASSES, HALF, HALF),
    "normal": TaskInfo("pixel_regression", 3, HALF, HALF),
    "autoencoder": TaskInfo("pixel_regression", 3, HALF, HALF),
}
_SELECTION = {"class_object": ("class_object_final5k.npy", 1000), "class_scene": ("class_scene_final5k.npy", 365)}


def check_task(task: str) -> TaskInfo:
    if task not in TASK_INFO:
        raise DataError(f"unknown Taskonomy task {task!r} (choose from {', '.join(TASKS)})")
    return TASK_INFO[task]


def input_shape(task: str, size: int = IMAGE_SIZE) -> tuple[int, ...]:
    """Per-sample input shape: (3, size, size), or (9, 3, 64, 64) tiles for jigsaw."""
    check_task(task)
    return (9, 3, JIGSAW_TILE, JIGSAW_TILE) if task == "jigsaw" else (3, size, size)


def target_shape(task: str, size: int = IMAGE_SIZE) -> tuple[int, ...]:
    """Per-sample target shape (``()`` for an integer class label)."""
    info = check_task(task)
    if info.kind in ("soft_classification", "regression"):
        return (info.outputs,)
    if info.kind == "segmentation":
        return (size, size)
    if info.kind == "pixel_regression":
        return (3, size, size)
    return ()


# -- synthetic ---------------------------------------------------------------------------------


def synthetic_taskonomy_batch(
    task: str, n: int, seed: int, size: int = IMAGE_SIZE
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded N(0,1) inputs (normalised units) and targets of each task's type and shape: soft
    targets (softmax of noise) for class tasks, N(0,1) room layouts, uniform jigsaw permutation
    and segmentation labels, normals in [0, 1], and the input itself for autoencoder."""
    info = check_task(task)
    g = torch.Generator().manual_seed(int(seed))
    x = torch.randn((n, *input_shape(task, size)), generator=g)
    if info.kind == "soft_classification":
        y = torch.softmax(torch.randn((n, info.outputs), generator=g), dim=1)
    elif info.kind == "regression":
        y = torch.randn((n, info.outputs), generator=g)
    elif info.kind == "classification":
        y = torch.randint(0, info.outputs, (n,), generator=g)
    elif info.kind == "segmentation":
        y = torch.randint(0, info.outputs, (n, size, size), generator=g)
    elif task == "autoencoder":
        y = x.clone()
    else:
        y = torch.rand((n, 3, size, size), generator=g)
    return x, y


# -- real files ----------------------------------------------------------------------------------


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the environment
        raise DataError("reading Taskonomy PNGs needs Pillow: pip install pillow (or use --synthetic)") from None
    return Image


def _resolve_root(root: str | Path) -> Path:
    root = Path(root)
    if (root / "taskonomydata_mini").is_dir():
        root = root / "taskonomydata_mini"
    if not root.is_dir():
        raise DataError(f"{root}: no Taskonomy folder (expected <building>/rgb/*.png, see FORMATS §4.5)")
    return root


def check_taskonomy_root(root: str | Path | None) -> None:
    """DataError (one line) unless ``root`` holds a Taskonomy folder; checked before any work starts."""
    if not root:
        raise DataError("Taskonomy images needed: give --data-dir (see data/README.md) or --synthetic")
    _resolve_root(root)


def _template_of_rgb(rel: str) -> str:
    """'b/rgb/point_1_view_2_domain_rgb.png' -> 'b/{domain}/point_1_view_2_domain_{domain}'."""
    parts = rel.rsplit(".", 1)[0].split("/")
    parts[-2] = "{domain}"
    parts[-1] = parts[-1].replace("_domain_rgb", "_domain_{domain}")
    return "/".join(parts)


def _building_templates(root: Path, entry: str) -> list[str]:
    js = root / (entry if entry.endswith(".json") else f"{entry}.json")
    if js.is_file():
        try:
            items = json.loads(js.read_text())
        except (OSError, ValueError) as err:
            raise DataError(f"{js}: unreadable template list ({err})") from None
        if not isinstance(items, list):
            raise DataError(f"{js}: expected a JSON list of templates")
        return [str(t).rsplit(".", 1)[0] if str(t).endswith((".png", ".npy")) else str(t) for t in items]
    rgb = root / entry / "rgb"
    if rgb.is_dir():
        return [_template_of_rgb(p.relative_to(root).as_posix()) for p in sorted(rgb.glob("*_domain_rgb.png"))]
    raise DataError(f"{root}: building {entry!r} has neither {js.name} nor an rgb/ folder")


def taskonomy_templates(root: str | Path, split: str = "train") -> list[str]:
    """All sample templates of ``split`` (sorted), each with a ``{domain}`` placeholder."""
    base = _resolve_root(root)
    split_file = next(
        (p for p in (base / f"{split}_split.json", base / f"{split}_filenames_final5k.json") if p.is_file()), None
    )
    if split_file is not None:
        try:
            data = json.loads(split_file.read_text())
        except (OSError, ValueError) as err:
            raise DataError(f"{split_file}: unreadable split file ({err})") from None
        entries = data.get("filename_list") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise DataError(f"{split_file}: expected a list of buildings or {{'filename_list': [...]}}")
        buildings = [str(e) for e in entries]
    else:
        buildings = sorted(d.name for d in base.iterdir() if (d / "rgb").is_dir())
    templates: list[str] = []
    for b in buildings:
        templates += _building_templates(base, b)
    if not templates:
        raise DataError(f"{base}: no Taskonomy images found for split {split!r}")
    return sorted(set(templates))


def _find_aux(root: Path, name: str) -> Path:
    for d in (root, root.parent):
        if (d / name).is_file():
            return d / name
    raise DataError(
        f"{name} not found in {root} or its parent: copy it from the official TransNASBench "
        f"lib/data (or NASLib naslib/data), or use --synthetic"
    )


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: target file missing")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: unreadable .npy ({err})") from None


def _open_image(path: Path, mode: str | None):
    """The image at ``path`` converted to ``mode`` (``None``: raw values, e.g. label indices)."""
    Image = _pil()
    if not path.is_file():
        raise DataError(f"{path}: image missing")
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert(mode) if mode else im.copy()
    except OSError as err:
        raise DataError(f"{path}: unreadable image ({err})") from None


def _to_tensor(img) -> torch.Tensor:
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def _normalise(x: torch.Tensor, info: TaskInfo) -> torch.Tensor:
    return (x - torch.tensor(info.mean).view(3, 1, 1)) / torch.tensor(info.std).view(3, 1, 1)


def _class_target(root: Path, task: str, path: Path) -> torch.Tensor:
    scores = _load_npy(path).astype(np.float64).reshape(-1)
    k = TASK_INFO[task].outputs
    if scores.size != k:
        mask_name, full = _SELECTION[task]
        if scores.size != full:
            raise DataError(f"{path}: {scores.size} class scores, expected {full} (or {k} already selected)")
        mask = _load_npy(_find_aux(root, mask_name)).reshape(-1).astype(bool)
        if mask.size != full or int(mask.sum()) != k:
            raise DataError(
                f"{mask_name}: expected {full} entries with {k} selected, got {mask.size}/{int(mask.sum())}"
            )
        scores = scores[mask]
    total = scores.sum()
    if not np.isfinite(total) or total <= 0:
        raise DataError(f"{path}: class scores do not sum to a positive number")
    return torch.from_numpy(scores / total).float()


def _jigsaw_sample(img, perms: np.ndarray, rng: random.Random) -> tuple[torch.Tensor, int]:
    Image = _pil()
    img = img.resize((JIGSAW_SIZE, JIGSAW_SIZE), Image.BILINEAR)
    crop = int(round(JIGSAW_SIZE * 0.9))
    off = (JIGSAW_SIZE - crop) // 2
    img = img.crop((off, off, off + crop, off + crop)).resize((JIGSAW_SIZE, JIGSAW_SIZE), Image.BILINEAR)
    label = rng.randrange(len(perms))
    unit = JIGSAW_SIZE // 3
    tiles = []
    for pos in perms[label]:
        top = int(pos) // 3 * unit + rng.randrange(unit - JIGSAW_TILE + 1)
        left = int(pos) % 3 * unit + rng.randrange(unit - JIGSAW_TILE + 1)
        tiles.append(_to_tensor(img.crop((left, top, left + JIGSAW_TILE, top + JIGSAW_TILE))))
    return torch.stack(tiles), label


def _jigsaw_permutations(base: Path) -> np.ndarray:
    perms = _load_npy(_find_aux(base, "permutations_hamming_max_1000.npy"))
    if perms.ndim != 2 or perms.shape[1] != 9:
        raise DataError(f"permutations_hamming_max_1000.npy: shape {perms.shape}, expected (1000, 9)")
    return perms


def _segmentation_target(path: Path, size: int) -> torch.Tensor:
    lab = _open_image(path, None).resize((size, size), _pil().NEAREST)
    arr = np.asarray(lab, dtype=np.int64).copy()
    if arr.ndim == 3:  # an RGB-saved label map: all channels hold the class index
        arr = arr[..., 0].copy()
    arr[arr == 0] = 1
    arr -= 1
    if arr.max() >= SEG_CLASSES:
        raise DataError(f"{path}: label {arr.max() + 1} beyond the 17 classes")
    return torch.from_numpy(arr)


def _target(base: Path, task: str, file, x: torch.Tensor, size: int) -> torch.Tensor:
    """The target of one sample for a task other than jigsaw (``file(domain, ext)`` names its files)."""
    if TASK_INFO[task].kind == "soft_classification":
        return _class_target(base, task, file(task, "npy"))
    if task == "room_layout":
        y = _load_npy(file("room_layout", "npy")).astype(np.float32).reshape(-1)
        if y.size != 9:
            raise DataError(f"{file('room_layout', 'npy')}: {y.size} values, expected 9")
        return torch.from_numpy(y)
    if task == "segmentsemantic":
        return _segmentation_target(file(task, "png"), size)
    if task == "normal":
        return _to_tensor(_open_image(file("normal", "png"), "RGB").resize((size, size), _pil().BILINEAR))
    return x.clone()  # autoencoder: reconstruct the normalised input


def load_taskonomy_batch(
    root: str | Path, task: str, n: int, seed: int, split: str = "train", size: int = IMAGE_SIZE
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` seeded samples of ``split`` for ``task`` as (inputs, targets), transformed as above."""
    info = check_task(task)
    base = _resolve_root(root)
    templates = taskonomy_templates(base, split)
    if n > len(templates):
        raise DataError(f"{base}: only {len(templates)} Taskonomy images in split {split!r}, {n} requested")
    rng = random.Random(int(seed))
    chosen = rng.sample(templates, n)
    Image = _pil()
    perms = _jigsaw_permutations(base) if task == "jigsaw" else None
    xs, ys = [], []
    for t in chosen:

        def file(domain: str, ext: str, t: str = t) -> Path:
            return base / (t.format(domain=domain) + "." + ext)

        img = _open_image(file("rgb", "png"), "RGB")
        if task == "jigsaw":
            x, label = _jigsaw_sample(img, perms, rng)
            xs.append(x)
            ys.append(torch.tensor(label))
            continue
        x = _normalise(_to_tensor(img.resize((size, size), Image.BILINEAR)), info)
        xs.append(x)
        ys.append(_target(base, task, file, x, size))
    return torch.stack(xs), torch.stack(ys)
