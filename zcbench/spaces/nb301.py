"""NAS-Bench-301 / the DARTS CIFAR-10 space: genotype strings, ground-truth readers, networks.

Architectures are DARTS genotype strings (``darts_genotype.py``); the canonical string is DARTS'
own ``Genotype(...)`` repr. ``'none'`` is accepted because SWAP's genotype file uses it, although
NB301 proper excludes it (and always has two distinct inputs per node): :func:`in_nb301_space`
tells the two apart. The space is too large to enumerate; ``sample`` draws like NB301's sampler.

Ground truth (``load_dump``), chosen by content:
  * genotype CSV: SWAP's ``datasets/DARTS_archs_CIFAR10.csv`` has **no header** (its
    ``correlation.py`` reads it with ``names=['genotype', 'valid_acc']``); CSVs with a header naming
    a genotype column (genotype/arch/architecture) and an accuracy column (val_accuracy/valid_acc/
    val_acc/accuracy), optionally test_accuracy, are read too.
  * NASLib ``zc_nasbench301.json``: ``{dataset: {str(compact): {'val_accuracy': float, '<proxy>':
    {'score', 'time'}}}}``, keys = NASLib compact tuples ``(((input, op_idx) x8), (...x8))``
    converted as ``naslib/search_spaces/nasbench301/conversions.py:convert_compact_to_genotype``.
    Proxy scores go to ``extra['naslib_<proxy>']`` (they are for the ``naslib`` network below).
  * NB301 training data (figshare 13246952, ``<optimizer>/results_<n>.json``), a directory or one
    file, read as ``nasbench301/surrogate_models/utils.py:ConfigLoader`` does: genotype from
    ``optimized_hyperparamater_config`` (sic; FORMATS §3.2 mapping), val = ``info[0]
    ['val_accuracy']``, test = top-level ``test_accuracy``. Layout confirmed from the repo's own
    sample ``nasbench301/surrogate_models/test/results_fidelity_0/results_0.json`` and its data
    split lists; the genotype decoded from that sample's config, built at its C=50/L=20 with the
    auxiliary head, has exactly its ``model_parameters`` (6,369,358).
  * a plain JSON map ``{genotype_string: val_accuracy}``.
  * an NB301 surrogate ensemble directory needs the optional ``nasbench301`` package
    (:meth:`NB301.surrogate_benchmark`); it cannot be installed as pinned on Python >= 3.11.
Records: index = position in the file (sorted relative path for a directory), accuracies in %.

Networks (``build(arch, 'cifar10', variant=...)``; all ``darts_model.NetworkCIFAR``, forward =
logits only, drop-path off, ``forward_features`` = last cell output):
  * ``nb301`` (default): NB301's training net (FORMATS §3.4): C=32, 8 layers, DARTS ops (affine BN),
    auxiliary head left out (it only adds a training loss). DARTS_V2 at C=36/L=20 built with the
    auxiliary head has 3,349,342 parameters outside the head (what DARTS' ``count_parameters_in_MB``
    prints, "3.3M") and 3,825,768 with it.
  * ``naslib``: NASLib's ``NasBench301SearchSpace`` after ``prepare_evaluation`` as used for
    ``zc_nasbench301.json``: same wiring (stem 3C, ReLUConvBN / FactorizedReduce preprocessing with
    affine BN, Linear(4*C3)), channels **32/64/128** (``graph.py`` ``self.channels = [32, 64,
    128]``), cell ops with ``affine=False`` BN, pooling followed by ``BatchNorm2d(C, affine=False)``.
    Its parameter count equals the ``params`` column of NASLib's NB301 zc data for all 256 shared
    rows; 16/32/64 channels or an auxiliary head match none. NASLib's auxiliary head is not built
    (its parameters are not in that count).
  * ``swap``: ``pym1024/SWAP`` ``src/search_space/networks.py`` as called by ``correlation.py``:
    ``Network(C=3, num_classes=10, layers=1, genotype)``: no stem, a single (reduction) cell on the
    raw image (preprocess 3->6 channels, output 24), global pool, Linear(24, 10). SWAP's
    FactorizedReduce pads before the shifted conv. SWAP's ``forward`` returns the pooled features,
    not the logits (its metric only hooks ReLUs); ours returns the logits for one interface.
"""

from __future__ import annotations

import ast
import csv
import importlib
import io
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..data.spec import InputSpec
from ..errors import ArchError, DumpError, UsageError
from . import register_space
from .base import Benchmark, Record, Space
from .darts_genotype import (
    Genotype,
    compact_to_genotype,
    config_to_genotype,
    encode_genotype,
    format_genotype,
    parse_genotype,
    sample_genotypes,
    uses_none,
)
from .darts_model import DARTS_STYLE, NASLIB_STYLE, SWAP_STYLE, NetworkCIFAR

# -- ground-truth readers ---------------------------------------------------------------------

GENOTYPE_COLUMNS = ("genotype", "arch", "architecture", "arch_str")
ACCURACY_COLUMNS = ("val_accuracy", "valid_acc", "val_acc", "accuracy", "acc")
TEST_COLUMNS = ("test_accuracy", "test_acc")
CONFIG_KEY = "optimized_hyperparamater_config"  # NB301's spelling


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise DumpError(f"{where}: accuracy {value!r} is not a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DumpError(f"{where}: accuracy {value!r} is not a number") from None
    if math.isinf(out):
        raise DumpError(f"{where}: accuracy {value!r} is not finite")
    return out


def _arch(text: Any, where: str) -> str:
    try:
        return format_genotype(parse_genotype(str(text)))
    except ArchError as err:
        raise DumpError(f"{where}: {err}") from None


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DumpError(f"{path}: not a text file (CSV or JSON expected)") from None
    except OSError as err:
        raise DumpError(f"{path}: cannot read ({err.strerror or err})") from None


# -- CSV --------------------------------------------------------------------------------------


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    low = [h.strip().lower() for h in header]
    for name in names:
        if name in low:
            return low.index(name)
    return None


def read_csv(path: Path, text: str) -> list[Record]:
    rows = [(n, r) for n, r in enumerate(csv.reader(io.StringIO(text)), 1) if any(c.strip() for c in r)]
    if not rows:
        raise DumpError(f"{path}: empty CSV file")
    first = rows[0][1]
    if first[0].strip().startswith("Genotype(") or first[0].strip().startswith("("):
        g_col, a_col, t_col = 0, 1, None  # SWAP's header-less layout: genotype, valid_acc
    else:
        g_col, a_col, t_col = _pick(first, GENOTYPE_COLUMNS), _pick(first, ACCURACY_COLUMNS), _pick(first, TEST_COLUMNS)
        if g_col is None or a_col is None:
            raise DumpError(
                f"{path}: not a DARTS genotype CSV: need a genotype column ({'/'.join(GENOTYPE_COLUMNS)}) and an "
                f"accuracy column ({'/'.join(ACCURACY_COLUMNS)}); header is {','.join(first)[:80]!r}"
            )
        rows = rows[1:]
    width = max(c for c in (g_col, a_col, t_col) if c is not None) + 1
    records = []
    for n, row in rows:
        where = f"{path}: line {n}"
        if len(row) < width:
            raise DumpError(f"{where}: expected at least {width} columns, found {len(row)}")
        test = _float(row[t_col], where) if t_col is not None and row[t_col].strip() else math.nan
        records.append(Record(len(records), _arch(row[g_col], where), _float(row[a_col], where), test))
    if not records:
        raise DumpError(f"{path}: CSV has a header but no rows")
    return records


# -- JSON -------------------------------------------------------------------------------------


def read_json(path: Path, text: str, dataset: str) -> list[Record]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise DumpError(f"{path}: truncated or invalid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise DumpError(f"{path}: JSON nested too deeply") from None
    if not isinstance(obj, dict) or not obj:
        raise DumpError(
            f"{path}: not an NB301 JSON dump (top level is {type(obj).__name__}, expected a non-empty object)"
        )
    if CONFIG_KEY in obj:
        return [training_record(obj, path, 0)]
    if all(isinstance(k, str) and k.lstrip().startswith("Genotype(") for k in obj):
        return [
            Record(i, _arch(k, f"{path}: entry {i}"), _float(v, f"{path}: entry {i}"))
            for i, (k, v) in enumerate(obj.items())
        ]
    if dataset not in obj:
        keys = ", ".join(list(map(str, obj))[:5])
        raise DumpError(
            f"{path}: no {dataset!r} section (NASLib zc_nasbench301.json layout expected; top-level keys: {keys})"
        )
    section = obj[dataset]
    if not isinstance(section, dict) or not section:
        raise DumpError(f"{path}: section {dataset!r} is not a non-empty object of architectures")
    return [_naslib_record(i, key, value, path) for i, (key, value) in enumerate(section.items())]


def _naslib_record(i: int, key: str, value: Any, path: Path) -> Record:
    where = f"{path}: architecture {i}"
    try:
        compact = ast.literal_eval(key.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise DumpError(f"{where}: key {key[:60]!r} is not a NASLib compact tuple") from None
    try:
        arch = format_genotype(compact_to_genotype(compact, key))
    except ArchError as err:
        raise DumpError(f"{where}: {err}") from None
    if not isinstance(value, dict) or "val_accuracy" not in value:
        raise DumpError(f"{where}: entry has no 'val_accuracy'")
    extra = {}
    for name, item in value.items():
        if isinstance(item, dict) and "score" in item:
            try:
                extra[f"naslib_{name}"] = float(item["score"])
            except (TypeError, ValueError):
                extra[f"naslib_{name}"] = math.nan
    return Record(i, arch, _float(value["val_accuracy"], where), math.nan, extra)


# -- NB301 training data --------------------------------------------------------------------


def training_record(obj: Any, path: Path, index: int) -> Record:
    """One NB301 ``results_*.json`` → Record (genotype via the ConfigSpace mapping, FORMATS §3.2)."""
    if not isinstance(obj, dict) or not isinstance(obj.get(CONFIG_KEY), dict):
        raise DumpError(f"{path}: not an NB301 result file (no {CONFIG_KEY!r} object)")
    config = obj[CONFIG_KEY]
    network = config.get("NetworkSelectorDatasetInfo:network", "darts")
    if network != "darts":
        raise DumpError(f"{path}: network is {network!r}, not a DARTS cell")
    try:
        arch = format_genotype(config_to_genotype(config))
    except ArchError as err:
        raise DumpError(f"{path}: {err}") from None
    info = obj.get("info")
    if not isinstance(info, list) or not info or not isinstance(info[0], dict) or "val_accuracy" not in info[0]:
        raise DumpError(f"{path}: no info[0]['val_accuracy']")
    test = obj.get("test_accuracy")
    extra = {}
    if isinstance(info[0].get("model_parameters"), (int, float)):
        extra["nb301_model_parameters"] = float(info[0]["model_parameters"])
    for key in ("runtime", "budget"):
        if isinstance(obj.get(key), (int, float)) and not isinstance(obj.get(key), bool):
            extra[key] = float(obj[key])
    return Record(
        index,
        arch,
        _float(info[0]["val_accuracy"], str(path)),
        math.nan if test is None else _float(test, str(path)),
        extra,
    )


def read_training_dir(path: Path) -> list[Record]:
    files = sorted(path.rglob("results_*.json"), key=lambda p: p.relative_to(path).as_posix())
    if not files:
        raise DumpError(f"{path}: directory holds no NB301 results_*.json files")
    records = []
    for f in files:
        text = read_text(f)
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise DumpError(f"{f}: truncated or invalid JSON ({err.msg} at line {err.lineno})") from None
        records.append(training_record(obj, f, len(records)))
    return records


def is_surrogate_dir(path: Path) -> bool:
    """An NB301 surrogate ensemble (``load_ensemble`` finds ``*surrogate_model.model`` files)."""
    return path.is_dir() and next(path.rglob("*surrogate_model.model"), None) is not None


# -- the space --------------------------------------------------------------------------------

DARTS_MEAN = (0.49139968, 0.48215827, 0.44653124)  # quark0/darts cnn/utils.py _data_transforms_cifar10
DARTS_STD = (0.24703233, 0.24348505, 0.26158768)
# variant -> (C, layers, op style, stem)
VARIANTS: dict[str, tuple[int, int, Any, bool]] = {
    "nb301": (32, 8, DARTS_STYLE, True),
    "naslib": (32, 8, NASLIB_STYLE, True),
    "swap": (3, 1, SWAP_STYLE, False),
}
_BUILD_OPTIONS = {"variant", "C", "layers", "auxiliary"}
NB301_MISSING = (
    "reading an NB301 surrogate ensemble needs the optional 'nasbench301' package, which does not install as "
    "pinned on Python >= 3.11 (ConfigSpace==0.4.12; see docs); use the NB301 training data, NASLib's "
    "zc_nasbench301.json or a genotype CSV instead"
)


def in_nb301_space(arch: str) -> bool:
    """True when ``arch`` lies in NB301's space proper: no 'none', two distinct inputs per node."""
    g = parse_genotype(arch)
    if uses_none(g):
        return False
    return all(cell[2 * k][1] != cell[2 * k + 1][1] for cell in (g.normal, g.reduce) for k in range(4))


def read_records(path: Path, dataset: str) -> tuple[list[Record], str]:
    """Dispatch on what ``path`` holds; returns the records and a short name of the format."""
    if not path.exists():
        raise DumpError(f"{path}: no such file or directory")
    if path.is_dir():
        if is_surrogate_dir(path):
            raise UsageError(
                f"{path}: is an NB301 surrogate ensemble; "
                + (
                    NB301_MISSING
                    if not surrogate_available()
                    else "it predicts accuracies but lists no architectures: "
                    "query it with NB301.surrogate_benchmark(path, archs)"
                )
            )
        return read_training_dir(path), "nb301-training-data"
    text = read_text(path)
    if not text.strip():
        raise DumpError(f"{path}: empty file")
    if path.suffix.lower() == ".json" or text.lstrip()[:1] in "{[":
        return read_json(path, text, dataset), "json"
    return read_csv(path, text), "csv"


def surrogate_available() -> bool:
    try:
        importlib.import_module("nasbench301")
    except Exception:  # noqa: BLE001 - any import failure (missing ConfigSpace, torch_geometric...) = absent
        return False
    return True


@register_space
class NB301(Space):
    name = "nb301"
    description = "NAS-Bench-301 / DARTS CIFAR-10 cells: ~1e18 genotypes, 7 ops (Siems et al., 2020)"
    datasets = ("cifar10",)
    variants = ("nb301", "naslib", "swap")
    dump_files = (
        "DARTS_archs_CIFAR10.csv (SWAP)",
        "zc_nasbench301.json (NASLib)",
        "NB301 training data dir of results_*.json (figshare 13246952)",
    )

    # architectures
    def parse(self, text: str) -> str:
        return format_genotype(parse_genotype(text))

    def from_naslib(self, key: str) -> str:
        """NASLib's encoding (the Suite-Zero keys) → this space's canonical string."""
        return self.parse(naslib_key_to_arch(key))

    def encode(self, arch: str) -> np.ndarray:
        """Edge x op incidence of both cells (``darts_genotype.encode_genotype``, 2 x 14 x 8 = 224 numbers)."""
        return np.asarray(encode_genotype(parse_genotype(arch)), dtype=float)

    def enumerate(self) -> list[str]:
        raise UsageError("space 'nb301' is too large to enumerate; give --archs, --dump or --sample")

    def sample(self, n: int, seed: int) -> list[str]:
        if n < 0:
            raise UsageError(f"cannot sample {n} architectures")
        return [format_genotype(g) for g in sample_genotypes(n, seed)]

    # trained results
    def load_dump(self, path: str | Path, dataset: str, epochs: int | None = None) -> Benchmark:
        self.check_dataset(dataset)
        if epochs is not None:
            raise UsageError("NB301 ground truth has one training budget per file; leave out --epochs")
        records, _kind = read_records(Path(path), dataset)
        return Benchmark(self.name, dataset, str(path), records)

    def surrogate_benchmark(self, path: str | Path, archs: Iterable[str], with_noise: bool = False) -> Benchmark:
        """Predicted validation accuracies of ``archs`` from an NB301 surrogate ensemble directory
        (``nasbench301.load_ensemble``; optional package, not installable as pinned on Py >= 3.11)."""
        if not surrogate_available():
            raise UsageError(NB301_MISSING)
        import nasbench301

        if not is_surrogate_dir(Path(path)):
            raise DumpError(f"{path}: not an NB301 surrogate ensemble (no *surrogate_model.model inside)")
        model = nasbench301.load_ensemble(str(path))
        records = []
        for i, arch in enumerate(archs):
            g = parse_genotype(arch)
            if not in_nb301_space(arch):
                raise ArchError(f"architecture {i} is outside NB301's space ('none' op or a repeated input)")
            acc = float(model.predict(config=g, representation="genotype", with_noise=with_noise))
            records.append(Record(i, format_genotype(g), acc))
        return Benchmark(self.name, "cifar10", str(path), records)

    # networks
    def build(self, arch: str, dataset: str, **options) -> nn.Module:
        """The network of ``arch``; ``variant`` = nb301 (default) | naslib | swap; ``C``, ``layers``
        and ``auxiliary`` override the variant's defaults (for cross-checks)."""
        self.check_dataset(dataset)
        unknown = set(options) - _BUILD_OPTIONS
        if unknown:
            raise UsageError(
                f"unknown nb301 build option(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(_BUILD_OPTIONS))})"
            )
        variant = options.get("variant") or "nb301"
        if variant not in VARIANTS:
            raise UsageError(f"unknown nb301 network variant {variant!r} (choose from {', '.join(VARIANTS)})")
        C, layers, style, stem = VARIANTS[variant]
        C = int(options.get("C") or C)
        layers = int(options.get("layers") or layers)
        genotype: Genotype = parse_genotype(arch)
        return NetworkCIFAR(
            C,
            10,
            layers,
            genotype,
            auxiliary=bool(options.get("auxiliary", False)),
            style=style,
            stem_multiplier=3 if stem else None,
        )

    def input_spec(self, dataset: str) -> InputSpec:
        self.check_dataset(dataset)
        return InputSpec((3, 32, 32), 10, "classification", DARTS_MEAN, DARTS_STD)


# -- NASLib's encoding (NAS-Bench-Suite-Zero keys) ---------------------------------------------


def naslib_key_to_arch(key: str) -> str:
    """NASLib's NB301 hash ``str(compact)``: ``(((input, op), x8), ((input, op), x8))``; early NASLib
    files write the cells as lists (``[[(0, 4), ...], [...]]``) → the canonical genotype string, via
    ``compact_to_genotype`` (NASLib ``convert_compact_to_genotype``). Raises ArchError."""
    try:
        compact = ast.literal_eval(str(key).strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ArchError(f"invalid NASLib NB301 key {str(key)[:60]!r}: not a compact tuple") from None
    return format_genotype(compact_to_genotype(compact, str(key)))
