"""Miniature NAS-Bench-201 / NATS-Bench TSS dumps in the exact official formats (FORMATS §1.2, §1.4).

Same keys, nesting, value types (numpy float64 params, OrderedDict train_times, str seeds '0777',
(dataset, int seed) result keys), pickling (torch.save for .pth, bz2 + pickle protocol 4 for NATS)
as the real files; only the number of evaluated architectures is small. Accuracies are chosen by
the test so that the readers' seed-averaging can be checked.
"""

from __future__ import annotations

import bz2
import pickle
import random
from collections import OrderedDict
from functools import cache
from pathlib import Path

import numpy as np
import torch

from zcbench.spaces.nb201 import all_arch_strings

NB_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
EVAL_NAMES = {
    "cifar10-valid": ["x-valid", "ori-test"],
    "cifar10": ["ori-test"],
    "cifar100": ["x-valid", "x-test", "ori-test"],
    "ImageNet16-120": ["x-valid", "x-test", "ori-test"],
}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


@cache
def _shuffled(seed: int) -> tuple[str, ...]:
    archs = all_arch_strings()
    random.Random(seed).shuffle(archs)
    return tuple(archs)


def official_order(seed: int = 7) -> list[str]:
    """A stand-in for the official ``meta_archs`` order: a fixed shuffle (the real order is not the
    enumeration order either, so readers must take indices from ``meta_archs``)."""
    return list(_shuffled(seed))


def acc_value(index: int, dataset: str, setname: str, seed: int, hp: int) -> float:
    """Deterministic fake accuracy in % for a (arch, dataset, eval set, seed, schedule)."""
    base = 50 + (index * 7 % 40) + {"x-valid": 0.5, "x-test": 0.25, "ori-test": 0.0}[setname]
    return float(base + (seed % 10) * 0.1 - (0 if hp == 200 else 30))


def results_count(index: int, arch: str, dataset: str, seed: int, hp: int, params: float, flop: float) -> dict:
    epochs = hp
    eval_acc, eval_loss, eval_times = {}, {}, {}
    for name in EVAL_NAMES[dataset]:
        last_only = hp == 200 and not (
            (dataset == "cifar10-valid" and name == "x-valid") or name == "ori-test" and dataset != "cifar10-valid"
        )
        for e in range(epochs):
            eval_times[f"{name}@{e}"] = 1.5
            if last_only and e != epochs - 1:
                continue
            acc = acc_value(index, dataset, name, seed, hp) if e == epochs - 1 else 10.0 + e * 0.01
            eval_acc[f"{name}@{e}"] = acc
            eval_loss[f"{name}@{e}"] = 1.0 / (1 + e)
    return {
        "name": dataset,
        "seed": f"{seed:04d}",
        "epochs": epochs,
        "train_acc1es": {e: 10.0 + e * 0.1 for e in range(epochs)},
        "train_acc5es": None,
        "train_losses": {e: 2.0 / (1 + e) for e in range(epochs)},
        "train_times": OrderedDict((e, 3.0) for e in range(epochs)),
        "eval_names": list(EVAL_NAMES[dataset]),
        "eval_acc1es": eval_acc,
        "eval_losses": eval_loss,
        "eval_times": eval_times,
        "params": np.float64(params),
        "flop": float(flop),
        "latency": [0.01, 0.011],
        "net_state_dict": None,
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": arch, "class_num": CLASSES[dataset]},
    }


def arch_state(index: int, arch: str, hp: int, seeds: dict[str, list[int]], params_of) -> dict:
    all_results = {}
    for ds, ss in seeds.items():
        p, f = params_of(arch, ds)
        for s in ss:
            all_results[(ds, s)] = results_count(index, arch, ds, s, hp, p, f)
    return {
        "arch_index": index,
        "arch_str": arch,
        "all_results": all_results,
        "dataset_seed": {ds: sorted(ss) for ds, ss in seeds.items()},
        "clear_net_done": True,
    }


@cache
def _params_of(arch: str, ds: str) -> tuple[float, float]:
    from zcbench.proxies.flops import count_flops
    from zcbench.spaces.nb201 import parse_arch_string
    from zcbench.spaces.nb201_model import TinyNetwork

    net = TinyNetwork(parse_arch_string(arch), CLASSES[ds])
    size = 16 if ds == "ImageNet16-120" else 32
    return sum(p.numel() for p in net.parameters()) / 1e6, count_flops(net, (3, size, size)) / 1e6


SEEDS_200 = {
    "cifar10-valid": [777, 888, 999],
    "cifar10": [777, 888],
    "cifar100": [777, 888, 999],
    "ImageNet16-120": [777],
}
SEEDS_12 = {"cifar10-valid": [111, 777], "cifar10": [111], "cifar100": [111], "ImageNet16-120": [111]}


def build_entries(indices, params_of=_params_of, meta=None):
    meta = meta or official_order()
    return meta, {
        i: {
            "12": arch_state(i, meta[i], 12, SEEDS_12, params_of),
            "200": arch_state(i, meta[i], 200, SEEDS_200, params_of),
        }
        for i in indices
    }


def write_nb201_pth(path: Path, indices, params_of=_params_of, v1_0: bool = False) -> list[str]:
    """``NAS-Bench-201-v1_*.pth``: torch.save of {meta_archs, total_archs, arch2infos{less,full}, evaluated_indexes}."""
    meta, entries = build_entries(indices, params_of)
    infos = {}
    for i, e in entries.items():
        less = e["12"]
        if v1_0:  # v1_0 only has cifar10-valid in the 12-epoch results
            less = dict(
                less,
                all_results={k: v for k, v in less["all_results"].items() if k[0] == "cifar10-valid"},
                dataset_seed={"cifar10-valid": less["dataset_seed"]["cifar10-valid"]},
            )
        infos[i] = {"less": less, "full": e["200"]}
    torch.save(
        {"meta_archs": meta, "total_archs": len(meta), "arch2infos": infos, "evaluated_indexes": sorted(indices)}, path
    )
    return meta


def write_nats_single(path: Path, indices, params_of=_params_of) -> list[str]:
    """``NATS-tss-v1_0-3ffb9.pickle.pbz2``: bz2(pickle protocol 4) of
    {meta_archs, arch2infos{'12','200'}, evaluated_indexes}."""
    meta, entries = build_entries(indices, params_of)
    obj = {"meta_archs": meta, "total_archs": len(meta), "arch2infos": entries, "evaluated_indexes": set(indices)}
    path.write_bytes(bz2.compress(pickle.dumps(obj, protocol=4)))
    return meta


def write_nats_simple(folder: Path, indices, params_of=_params_of) -> list[str]:
    """``NATS-tss-v1_0-3ffb9-simple/``: meta.pickle.pbz2 + {idx:06d}.pickle.pbz2 (OrderedDict '12','200')."""
    meta, entries = build_entries(indices, params_of)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.pickle.pbz2").write_bytes(
        bz2.compress(
            pickle.dumps(
                {"meta_archs": meta, "total_archs": len(meta), "arch2infos": None, "evaluated_indexes": set()},
                protocol=4,
            )
        )
    )
    for i, e in entries.items():
        (folder / f"{i:06d}.pickle.pbz2").write_bytes(
            bz2.compress(pickle.dumps(OrderedDict([("12", e["12"]), ("200", e["200"])]), protocol=4))
        )
    return meta


def expected(index: int, dataset: str, hp: int = 200) -> tuple[float, float]:
    """(val, test) the official get_more_info(is_random=False) returns for the fixtures."""
    nb, v, t = {
        "cifar10": ("cifar10-valid", "x-valid", "ori-test"),
        "cifar100": ("cifar100", "x-valid", "x-test"),
        "ImageNet16-120": ("ImageNet16-120", "x-valid", "x-test"),
    }[dataset]
    seeds = (SEEDS_200 if hp == 200 else SEEDS_12)[nb]
    return (
        float(np.mean([acc_value(index, nb, v, s, hp) for s in seeds])),
        float(np.mean([acc_value(index, nb, t, s, hp) for s in seeds])),
    )
