"""NAS-Bench-201 and NATS-Bench TSS: arch strings, official dump readers, the TinyNetwork.

Dumps read (FORMATS §1.2, §1.4), all through the allow-listed unpickler:
  * ``NAS-Bench-201-v1_0-e61699.pth`` / ``NAS-Bench-201-v1_1-096897.pth`` (torch.save of a dict,
    hp keys ``'less'`` = 12 epochs, ``'full'`` = 200 epochs);
  * ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` (bz2 pickle, hp keys ``'12'``/``'200'``);
  * ``NATS-tss-v1_0-3ffb9-simple/`` (``meta.pickle.pbz2`` + one ``{idx:06d}.pickle.pbz2`` per arch).
Accuracies are those of the official ``get_more_info(index, set, hp, is_random=False)``: the mean
over the dataset's seeds at the last epoch. zcbench's ``cifar10`` is NB201's ``cifar10-valid``
(val = ``x-valid``, test = ``ori-test``), as in Abdelfattah et al. and NASLib; ``cifar100`` and
``ImageNet16-120`` use val = ``x-valid``, test = ``x-test``. The ``ori-test`` accuracy of NB201's own
``cifar10`` entry (the same cell trained on train+valid) is kept too, as ``extra['trainval_test_accuracy']``:
NB201 search papers report it as the CIFAR-10 test accuracy (``search_accuracies``, ``zcbench search --dump``).
"""

from __future__ import annotations

import bz2
import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..data.spec import InputSpec
from ..errors import ArchError, DumpError
from ..progress import track
from ..safe_pickle import safe_loads, safe_torch_load
from . import register_space
from .base import Benchmark, Record, Space
from .dumpcache import load_cached
from .nb201_model import SamsungNAS201, TinyNetwork

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")  # official index order
NUM_ARCHS = 5**6
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
# (NB201 training set, validation eval name, test eval name) for each zcbench dataset
EVAL_SETS = {
    "cifar10": ("cifar10-valid", "x-valid", "ori-test"),
    "cifar100": ("cifar100", "x-valid", "x-test"),
    "ImageNet16-120": ("ImageNet16-120", "x-valid", "x-test"),
}
# NB201's ``cifar10`` entry: the cell trained on train+valid, evaluated on the test set only
TRAINVAL_SET = ("cifar10", "ori-test")
# NB201 normalisation (xautodl get_datasets, FORMATS §1.7), on [0,1] pixels.
NORMALISATION = {
    "cifar10": ((125.3 / 255, 123.0 / 255, 113.9 / 255), (63.0 / 255, 62.1 / 255, 66.7 / 255)),
    "cifar100": ((129.3 / 255, 124.1 / 255, 112.4 / 255), (68.2 / 255, 65.4 / 255, 70.4 / 255)),
    "ImageNet16-120": ((122.68 / 255, 116.66 / 255, 104.01 / 255), (63.22 / 255, 61.26 / 255, 65.09 / 255)),
}
_HP_KEYS = {  # hp -> (key in NB201 .pth, key in NATS files)
    200: ("full", "200"),
    12: ("less", "12"),
}
_EDGE_RE = re.compile(r"^([a-z_0-9]+)~(\d+)$")


def parse_arch_string(text: str) -> list[list[tuple[str, int]]]:
    """``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` → per-node lists of (op, input). Raises ArchError."""
    s = text.strip()
    nodes = s.split("+")
    if len(nodes) != 3:
        raise ArchError(f"invalid NB201 architecture {s!r}: expected 3 nodes separated by '+'")
    genotype = []
    for i, node in enumerate(nodes, 1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise ArchError(f"invalid NB201 architecture {s!r}: node {i} must be written |op~j|...|")
        edges = node[1:-1].split("|")
        if len(edges) != i:
            raise ArchError(f"invalid NB201 architecture {s!r}: node {i} needs {i} edges, got {len(edges)}")
        parsed = []
        for j, edge in enumerate(edges):
            m = _EDGE_RE.match(edge)
            if not m:
                raise ArchError(f"invalid NB201 architecture {s!r}: bad edge {edge!r}")
            op, src = m.group(1), int(m.group(2))
            if op not in OPS:
                raise ArchError(f"invalid NB201 architecture {s!r}: unknown op {op!r} (ops: {', '.join(OPS)})")
            if src != j:
                raise ArchError(f"invalid NB201 architecture {s!r}: node {i} edge {j} must read from node {j}")
            parsed.append((op, src))
        genotype.append(parsed)
    return genotype


def format_arch(genotype: Iterable[Iterable[tuple[str, int]]]) -> str:
    return "+".join("|" + "|".join(f"{op}~{j}" for op, j in node) + "|" for node in genotype)


def all_arch_strings() -> list[str]:
    """All 15,625 architectures in the order of xautodl's ``CellStructure.gen_all`` (the official
    benchmark index order differs and comes from the dump's ``meta_archs``)."""
    out = []
    for ops in itertools.product(OPS, repeat=6):
        geno = [[(ops[0], 0)], [(ops[1], 0), (ops[2], 1)], [(ops[3], 0), (ops[4], 1), (ops[5], 2)]]
        out.append(format_arch(geno))
    return out


# -- dump reading ------------------------------------------------------------------------------


def _read_bz2_pickle(path: Path) -> Any:
    try:
        raw = bz2.decompress(path.read_bytes())
    except (OSError, EOFError, ValueError) as err:
        raise DumpError(f"{path}: truncated or corrupt bz2 file ({err})") from None
    return safe_loads(raw, str(path))


def _check_meta(obj: Any, path: Path) -> list[str]:
    if not isinstance(obj, dict):
        raise DumpError(f"{path}: not a NAS-Bench-201 / NATS-Bench TSS dump (top level is {type(obj).__name__})")
    if "metrics_dict" in obj and "data" in obj:
        raise DumpError(f"{path}: this is a TransNAS-Bench-101 dump; use --space tnb101_micro or tnb101_macro")
    if "meta_archs" not in obj:
        raise DumpError(f"{path}: not a NAS-Bench-201 / NATS-Bench TSS dump (no 'meta_archs' key)")
    archs = list(obj["meta_archs"])
    if archs and not str(archs[0]).startswith("|"):
        raise DumpError(f"{path}: not a topology (TSS) dump: architectures look like {archs[0]!r} (NATS-Bench SSS?)")
    if len(archs) != NUM_ARCHS:
        raise DumpError(f"{path}: expected {NUM_ARCHS} architectures in 'meta_archs', found {len(archs)}")
    return [str(a) for a in archs]


def _metric(state: dict, nb_dataset: str, setname: str, epoch: int | None) -> tuple[float, dict]:
    """Seed-averaged accuracy (%) of ``setname`` at ``epoch`` (last by default), as
    ``ArchResults.get_metrics(is_random=False)``; NaN when the dump lacks it."""
    seeds = state.get("dataset_seed", {}).get(nb_dataset)
    results = state.get("all_results", {})
    if not seeds:
        return float("nan"), {}
    values = []
    first = None
    for seed in seeds:
        res = results.get((nb_dataset, seed))
        if res is None:
            continue
        first = first or res
        e = res["epochs"] - 1 if epoch is None else epoch
        acc = res.get("eval_acc1es", {}).get(f"{setname}@{e}")
        if acc is None:
            return float("nan"), first or {}
        values.append(float(acc))
    return (float(np.mean(values)) if values else float("nan")), (first or {})


CACHE_VERSION = 2  # 2: the ``cifar10`` entry's test accuracy (``cifar10.<hp>.trainval_test``)


def extract_table(dump: NB201Dump) -> dict[str, np.ndarray]:
    """Everything zcbench reads from a dump, as arrays: the official arch list, the evaluated
    indices, and per (dataset, schedule) the seed-averaged val/test accuracy, params and flops."""
    n = len(dump.evaluated)
    out: dict[str, np.ndarray] = {
        "meta_archs": np.array(dump.meta_archs, dtype=object),
        "evaluated": np.array(dump.evaluated, dtype=np.int64),
    }
    cols = {
        f"{ds}.{hp}.{c}": np.full(n, np.nan)
        for ds in DATASETS
        for hp in _HP_KEYS
        for c in ("val", "test", "params", "flops")
    }
    cols |= {f"cifar10.{hp}.trainval_test": np.full(n, np.nan) for hp in _HP_KEYS}
    has = {f"{ds}.{hp}.has": np.zeros(n, dtype=bool) for ds in DATASETS for hp in _HP_KEYS}
    # one tick per architecture: the NATS "simple" directory reads one file each (15,625 of them)
    for k, idx in enumerate(track(dump.evaluated, desc=f"reading {dump.path.name}", unit="arch")):
        for hp in _HP_KEYS:
            st = dump.state(idx, hp)
            if st is None:
                continue
            for ds in DATASETS:
                nb_set, val_name, test_name = EVAL_SETS[ds]
                val, res = _metric(st, nb_set, val_name, None)
                test, _ = _metric(st, nb_set, test_name, None)
                if res:
                    key = f"{ds}.{hp}"
                    has[f"{key}.has"][k] = True
                    cols[f"{key}.val"][k], cols[f"{key}.test"][k] = val, test
                    cols[f"{key}.params"][k] = float(res.get("params", np.nan))
                    cols[f"{key}.flops"][k] = float(res.get("flop", np.nan))
            cols[f"cifar10.{hp}.trainval_test"][k] = _metric(st, *TRAINVAL_SET, None)[0]
    return out | cols | has


class NB201Dump:
    """An opened NB201/NATS dump: the official arch list and a way to fetch each arch's state."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise DumpError(f"{self.path}: no such file or directory")
        self._simple = self.path.is_dir()
        if self._simple:
            meta_file = self.path / "meta.pickle.pbz2"
            if not meta_file.is_file():
                raise DumpError(f"{self.path}: not a NATS-Bench simple directory (no meta.pickle.pbz2)")
            meta = _read_bz2_pickle(meta_file)
            self.meta_archs = _check_meta(meta, meta_file)
            self._infos: dict[int, Any] | None = None
            self.kind = "nats-simple"
        else:
            with open(self.path, "rb") as fh:
                head = fh.read(3)
            obj = _read_bz2_pickle(self.path) if head == b"BZh" else safe_torch_load(self.path)
            self.meta_archs = _check_meta(obj, self.path)
            infos = obj.get("arch2infos")
            if not isinstance(infos, dict):
                raise DumpError(f"{self.path}: 'arch2infos' is missing or not a dict")
            self._infos = infos
            self.kind = "nats" if head == b"BZh" else "nb201"
            evaluated = obj.get("evaluated_indexes")
            self.evaluated = sorted(int(i) for i in (evaluated if evaluated is not None else infos))

        if self._simple:
            found = []
            for f in self.path.glob("*.pickle.pbz2"):
                stem = f.name.split(".")[0]
                if stem.isdigit():
                    found.append(int(stem))
            self.evaluated = sorted(i for i in found if 0 <= i < NUM_ARCHS)

    def state(self, index: int, hp: int) -> dict | None:
        """The ArchResults state of ``index`` for ``hp`` (12 or 200), or None if absent."""
        pth_key, nats_key = _HP_KEYS[hp]
        if self._simple:
            f = self.path / f"{index:06d}.pickle.pbz2"
            if not f.is_file():
                f = self.path / f"{index}.pickle.pbz2"
                if not f.is_file():
                    return None
            entry = _read_bz2_pickle(f)
        else:
            entry = self._infos.get(index)
        if not isinstance(entry, dict):
            return None
        st = entry.get(nats_key if nats_key in entry else pth_key)
        if st is None:
            return None
        if not isinstance(st, dict) or "all_results" not in st:
            raise DumpError(f"{self.path}: architecture {index} has no ArchResults state for hp={hp}")
        return st


@register_space
class NB201(Space):
    name = "nb201"
    description = "NAS-Bench-201 / NATS-Bench TSS: 15,625 cells, 5 ops on 6 edges (Dong & Yang, ICLR 2020)"
    datasets = DATASETS
    size = NUM_ARCHS
    default_epochs = 200
    variants = ("samsung",)  # Abdelfattah et al.'s re-implementation (see nb201_model)
    dump_files = (
        "NAS-Bench-201-v1_1-096897.pth",
        "NAS-Bench-201-v1_0-e61699.pth",
        "NATS-tss-v1_0-3ffb9.pickle.pbz2",
        "NATS-tss-v1_0-3ffb9-simple/",
    )

    def __init__(self) -> None:
        self._meta: list[str] | None = None  # official order, known once a dump was read
        self._index: dict[str, int] = {}

    # architectures
    def parse(self, text: str) -> str:
        s = str(text).strip()
        if s.lstrip("-").isdigit():
            i = int(s)
            if self._meta is None:
                raise ArchError(f"architecture index {i} needs the official order: give --dump")
            if not 0 <= i < NUM_ARCHS:
                raise ArchError(f"architecture index {i} out of range 0..{NUM_ARCHS - 1}")
            return self._meta[i]
        return format_arch(parse_arch_string(s))

    def index_of(self, arch: str) -> int | None:
        return self._index.get(arch)

    def enumerate(self) -> list[str]:
        return list(self._meta) if self._meta is not None else all_arch_strings()

    def encode(self, arch: str) -> np.ndarray:
        """6 edges x 5 ops one-hot (official op order, edges in string order): the search predictor's features."""
        out = np.zeros((6, len(OPS)))
        edges = [op for node in parse_arch_string(arch) for op, _ in node]
        for e, op in enumerate(edges):
            out[e, OPS.index(op)] = 1.0
        return out.ravel()

    def from_naslib(self, key: str) -> str:
        """NASLib's encoding (the Suite-Zero keys) → this space's canonical string."""
        return self.parse(naslib_key_to_arch(key))

    def neighbours(self, arch: str) -> list[str]:
        """The 24 cells that differ from ``arch`` in the op of exactly one of the 6 edges (the
        NB201 mutation of REA / Abdelfattah et al.'s search), edge by edge in string order."""
        geno = parse_arch_string(arch)
        out = []
        for ni, node in enumerate(geno):
            for ei, (op, src) in enumerate(node):
                for new in OPS:
                    if new != op:
                        g = [list(n) for n in geno]
                        g[ni][ei] = (new, src)
                        out.append(format_arch(g))
        return out

    # trained results
    def load_dump(self, path: str | Path, dataset: str, epochs: int | None = None, use_cache: bool = True) -> Benchmark:
        """Results for ``dataset`` at ``epochs`` (200 default, or 12) for every evaluated arch.

        The first load reads the whole dump (minutes for the 4.7 GB file) and keeps a compact table
        of every dataset and schedule in the cache folder (``dumpcache``: ``$ZCBENCH_CACHE``, else the user cache
        folder); later loads read that."""
        self.check_dataset(dataset)
        hp = 200 if epochs is None else int(epochs)
        if hp not in _HP_KEYS:
            raise DumpError(f"NB201 has results for 12 or 200 epochs, not {hp}")
        path = Path(path)
        if not path.exists():
            raise DumpError(f"{path}: no such file or directory")
        t = load_cached(path, "nb201-table", CACHE_VERSION, lambda: extract_table(NB201Dump(path)), use_cache)
        meta = [str(a) for a in t["meta_archs"]]
        self._meta = meta
        self._index = {a: i for i, a in enumerate(meta)}
        key = f"{dataset}.{hp}"
        has = t[f"{key}.has"].astype(bool)
        if len(has) and not has.any():
            raise DumpError(f"{path}: no {hp}-epoch results for {EVAL_SETS[dataset][0]} in this dump")
        trainval = t[f"cifar10.{hp}.trainval_test"] if dataset == "cifar10" else np.full(len(has), np.nan)
        records = [
            Record(int(i), meta[int(i)], float(v), float(te), _extra(p, f, tv) if h else {})
            for i, v, te, p, f, tv, h in zip(
                t["evaluated"], t[f"{key}.val"], t[f"{key}.test"], t[f"{key}.params"], t[f"{key}.flops"], trainval, has
            )
        ]
        return Benchmark(self.name, dataset, str(path), records)

    def search_accuracies(self, bench: Benchmark) -> dict[str, tuple[float, float]]:
        """As NB201 search papers report them (PRE-NAS, REA, the NB201 paper's search table): for CIFAR-10 the
        validation accuracy of the ``cifar10-valid`` run and the test accuracy of the ``cifar10`` run (trained
        on train+valid; the space's best is 91.61 valid / 94.37 test); CIFAR-100 and ImageNet16-120 as stored."""
        if bench.dataset != "cifar10":
            return super().search_accuracies(bench)
        return {r.arch: (r.val_accuracy, r.extra.get("trainval_test_accuracy", float("nan"))) for r in bench.records}

    # networks
    def build(self, arch: str, dataset: str, **options) -> nn.Module:
        """The official TinyNetwork, or with ``variant='samsung'`` the network Abdelfattah et al. scored."""
        self.check_dataset(dataset)
        variant = self.check_variant(options.get("variant"))
        cls = SamsungNAS201 if variant == "samsung" else TinyNetwork
        return cls(parse_arch_string(arch), NUM_CLASSES[dataset], C=options.get("C", 16), N=options.get("N", 5))

    def input_spec(self, dataset: str) -> InputSpec:
        self.check_dataset(dataset)
        size = 16 if dataset == "ImageNet16-120" else 32
        mean, std = NORMALISATION[dataset]
        return InputSpec((3, size, size), NUM_CLASSES[dataset], "classification", mean, std)


def _extra(params: float, flops: float, trainval_test: float) -> dict[str, float]:
    """A record's extras: params and flops, and for CIFAR-10 the ``cifar10`` entry's test accuracy."""
    out = {"params": float(params), "flops": float(flops)}
    if np.isfinite(trainval_test):
        out["trainval_test_accuracy"] = float(trainval_test)
    return out


# -- NASLib's encoding (NAS-Bench-Suite-Zero keys) ---------------------------------------------

# NASLib ``search_spaces/nasbench201/conversions.py``: op index -> name, and the edge each position
# of an op-index tuple stands for (nodes 1-based, node 1 = input). Not the official OPS order.
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NASLIB_EDGES = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))


def naslib_key_to_arch(key: str) -> str:
    """NASLib's NB201 hash ``str(tuple(op_indices))``, e.g. ``'(4, 3, 3, 3, 2, 3)'``, → the official
    string, as NASLib's ``convert_op_indices_to_str``: edge (i, j) becomes ``op~(i-1)`` of node j-1.
    Raises ArchError."""
    if not re.fullmatch(r"\s*[\(\[]\s*\d+(\s*,\s*\d+){5}\s*,?\s*[\)\]]\s*", str(key)):
        raise ArchError(f"invalid NASLib NB201 key {str(key)[:60]!r}: expected a tuple of 6 op indices")
    ops = [int(d) for d in re.findall(r"\d+", str(key))]
    if any(not 0 <= o < len(NASLIB_OPS) for o in ops):
        raise ArchError(f"invalid NASLib NB201 key {key!r}: op indices must be 0..{len(NASLIB_OPS) - 1}")
    geno: list[list[tuple[str, int]]] = [[], [], []]
    for (i, j), o in sorted(zip(NASLIB_EDGES, ops), key=lambda e: (e[0][1], e[0][0])):
        geno[j - 2].append((NASLIB_OPS[o], i - 1))
    return format_arch(geno)
