"""Miniatures of the files the documentation's commands name, for tests/test_docs_commands.py.

Everything is in the published layout and under the published name; only the sizes are tiny. The dumps come
from the benchmark fixture modules (nb201_fixtures, nb101_fixtures, tnb101_fixtures); this module adds
NAS-Bench-Suite-Zero files for every benchmark, the image sets under ``~/data`` and an already scored results
file (what ``zcbench score`` would have written earlier) for the pages that start from one.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np

# NAS-Bench-Suite-Zero's thirteen proxies (docs/imports.md)
SUITE_ZERO_PROXIES = "epe_nas fisher flops grad_norm grasp jacov l2_norm nwot params plain snip synflow zen".split()
# NASLib's NB201 op order and edge list (naslib/search_spaces/nasbench201/conversions.py)
NASLIB_NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_NB201_EDGES = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))


def naslib_nb201_key(arch: str) -> str:
    """NASLib's hash of an official NB201 string (``convert_str_to_op_indices``): for each edge (u, v), the
    op node v takes from node u, as an index into NASLib's op order."""
    nodes = [[e.split("~")[0] for e in n.strip("|").split("|")] for n in arch.split("+")]
    return str(tuple(NASLIB_NB201_OPS.index(nodes[v - 2][u - 1]) for u, v in NASLIB_NB201_EDGES))


# A few valid keys per benchmark in NASLib's encodings (docs/imports.md "Architecture conversion").
_NB101_PADDED = (  # in -> conv3x3 -> out, in -> conv1x1 -> out, a dangling maxpool: NASLib's padded 7-vertex spec
    [[0, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1]] + [[0] * 7] * 4,
    [0, 4, 3, 2, 2, 2, 1],
)
_NB101_CHAIN = ([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], [0, 2, 3, 1])  # in -> maxpool -> conv1x1
# NASLib's convert_spec_to_tuple: the matrix flattened row by row, then the op indices
_NB101_KEYS = [str((*(x for row in m for x in row), *ops)) for m, ops in (_NB101_PADDED, _NB101_CHAIN)]
_NB301_KEYS = [
    str((((0, 4), (1, 3), (0, 2), (2, 3), (2, 3), (0, 3), (2, 6), (3, 5)),) * 2),
    str((((0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 3), (0, 3), (1, 2)),) * 2),
]
_TNB101_KEYS = {
    "transbench101_micro": ["(0, 1, 2, 3, 0, 1)", "(3, 3, 3, 3, 3, 3)", "(1, 2, 3, 1, 2, 3)"],
    "transbench101_macro": ["(2, 3, 1, 4)", "(1, 2, 3, 3)", "(4, 4, 2, 1, 1, 1)"],
}
TNB101_TASKS = ("class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic", "normal", "autoencoder")


def write_suite_zero(path: Path, keys: list[str], datasets: tuple[str, ...], seed: int = 0) -> Path:
    """A ``zc_<benchmark>.json`` in NASLib's layout, ``{dataset: {key: {val_accuracy, <proxy>: {score,
    time}}}}``, with all thirteen proxies and made-up, seeded scores and accuracies."""
    rng = np.random.default_rng(seed)
    data = {
        ds: {
            key: {
                "val_accuracy": float(rng.uniform(40, 95)),
                **{
                    p: {"score": float(rng.normal(10, 3)), "time": float(rng.uniform(0.1, 2))}
                    for p in SUITE_ZERO_PROXIES
                },
            }
            for key in keys
        }
        for ds in datasets
    }
    path.write_text(json.dumps(data))
    return path


NB201_SUITE_SIZE = 300  # enough for docs/predict.md's test-sized Suite-Zero protocol (100 train + 135 test)


def write_suite_zero_files(folder: Path, nb201_archs: list[str], nb201_size: int = 0) -> list[Path]:
    """All five NAS-Bench-Suite-Zero files; the NB201 one holds ``nb201_archs`` (the miniature dump's
    architectures, so imported and own scores meet) and more cells up to ``nb201_size`` (the pages that score
    what it holds keep it small; docs/predict.md asks for ``NB201_SUITE_SIZE``)."""
    from zcbench.spaces.nb201 import all_arch_strings

    more = [a for a in all_arch_strings()[::41] if a not in nb201_archs][: max(0, nb201_size - len(nb201_archs))]
    return [
        write_suite_zero(
            folder / "zc_nasbench201.json",
            [naslib_nb201_key(a) for a in [*nb201_archs, *more]],
            ("cifar10", "cifar100", "ImageNet16-120"),
        ),
        write_suite_zero(folder / "zc_nasbench101.json", _NB101_KEYS, ("cifar10",), seed=1),
        write_suite_zero(folder / "zc_nasbench301.json", _NB301_KEYS, ("cifar10",), seed=2),
        *(
            write_suite_zero(folder / f"zc_{bench}.json", keys, TNB101_TASKS, seed=3 + i)
            for i, (bench, keys) in enumerate(_TNB101_KEYS.items())
        ),
    ]


def write_image_sets(data_dir: Path, n: int = 64) -> None:
    """CIFAR-10, CIFAR-100 and ImageNet16 in the official python-pickle layouts (zcbench/data/images.py
    EXPECTED) under ``data_dir``, with ``n`` training images each (random pixels, valid labels)."""
    from download_fixtures import cifar10_tar, cifar100_tar, cifar_batch

    for archive in (cifar10_tar(n=(n + 4) // 5), cifar100_tar(n=n)):
        with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
            tf.extractall(data_dir, filter="data")
    folder = data_dir / "ImageNet16"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 11):  # labels 1..120 are ImageNet16-120's; cifar_batch draws 0..119, so shift by one
        raw = cifar_batch((n + 9) // 10, 100 + i, "labels", 120, size=16)
        obj = pickle.loads(raw)
        obj[b"labels"] = [label + 1 for label in obj[b"labels"]]
        (folder / f"train_data_batch_{i}").write_bytes(pickle.dumps(obj, protocol=2))


NOISE = {"synflow": 0.6, "snip": 0.7, "grad_norm": 1.5}  # proxy = accuracy + noise of this many standard deviations


def write_scored_results(
    path: Path,
    n: int = 200,
    datasets: tuple[str, ...] = ("cifar10", "cifar100"),
    proxies: tuple[str, ...] = tuple(NOISE),
    seed: int = 0,
) -> Path:
    """An already scored results file: ``n`` NB201 cells (all 15,625 for ``n >= 15625``) per dataset, each
    proxy the accuracy plus noise (``NOISE``), with validation and test accuracies."""
    from zcbench.spaces import get_space
    from zcbench.store import ResultStore, Row, RunInfo, RunKey

    rng = np.random.default_rng(seed)
    archs = get_space("nb201").sample(n, seed=seed)
    n = len(archs)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ResultStore(path) as st:
        for dataset in datasets:
            acc = rng.normal(size=n)
            val = 70 + 5 * acc
            test = val + rng.normal(size=n) * 0.5
            for proxy in proxies:
                s = acc + NOISE[proxy] * rng.normal(size=n)
                rows = [Row(i, a, float(s[i]), 0.01, float(val[i]), float(test[i])) for i, a in enumerate(archs)]
                st.append(RunKey("nb201", dataset, proxy, data_free=True), RunInfo(), rows)
    return path
