"""TransNAS-Bench-101 (Duan et al., CVPR 2021): the micro (cell) and macro (skeleton) spaces.

Dump: ``transnas-bench_v10141024.pth`` (FORMATS §4.1), a torch.save of a plain dict
``{'metrics_dict', 'info_names', 'task_list', 'data': {'macro': {arch: TaskDict}, 'micro': ...}}``,
read through the allow-listed unpickler. Each space reads its own half.

* Index: the position of the architecture inside its half in file insertion order. The official
  ``arch2index`` counts over both halves, macro first, so official index = ours for macro and
  ours + 3256 for micro.
* val/test: the task's headline metric (``HEADLINE``) in mode ``best`` = ``max`` over the per-epoch
  list, as the official ``get_single_metric(..., mode='best')`` (max even for ``*_neg_loss``, which
  is a negated loss). Values are stored in the dump's units: top-1 in %, room_layout negative MSE,
  mIoU and SSIM as recorded. ``epochs=k`` takes the best over the first k epochs.
* extra: ``params`` in M and ``flops`` in M from ``model_info['model_params' / 'model_FLOPs']``.
  The official code writes counts (``sum(numel)``; thop MACs at 224x224, jigsaw 9x3x64x64); a value
  above 1e3 (params) / 1e5 (FLOPs) is taken as a count and divided by 1e6, smaller ones are taken
  as already in M (no TNB101 network has fewer than 0.1 M parameters). Also ``encoder_params`` (M).

Architectures: micro ``64-41414-a_bc_def`` with digits 0 zero, 1 skip, 2 conv1x1, 3 conv3x3
(4096); macro ``64-<code>-basic``, code of 4-6 digits over 1 normal, 2 channels x2, 3 stride 2,
4 both, with 1-4 downsampling and 1-3 channel-doubling modules (3256). ``parse`` also accepts
NASLib's op tuples (``(1, 0, 0, 2, 1, 0)``; macro tuples padded with 0) and, once a dump was read,
an index. ``enumerate`` gives the dump's order when a dump has been read, else a fixed order:
micro = ``itertools.product('0123', repeat=6)``, macro = by code length, then lexicographic.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.spec import InputSpec
from ..data.taskonomy import (
    TASK_INFO,
    TASKS,
    check_taskonomy_root,
    input_shape,
    load_taskonomy_batch,
    synthetic_taskonomy_batch,
    target_shape,
)
from ..errors import ArchError, DumpError
from ..safe_pickle import safe_torch_load
from . import register_space
from .base import Benchmark, Record, Space
from .tnb101_model import create_task_model, official_init

HEADLINE: dict[str, tuple[str, str]] = {
    "class_scene": ("valid_top1", "test_top1"),
    "class_object": ("valid_top1", "test_top1"),
    "jigsaw": ("valid_top1", "test_top1"),
    "room_layout": ("valid_neg_loss", "test_neg_loss"),
    "segmentsemantic": ("valid_mIoU", "test_mIoU"),
    "normal": ("valid_ssim", "test_ssim"),
    "autoencoder": ("valid_ssim", "test_ssim"),
}
DUMP_KEYS = ("metrics_dict", "info_names", "task_list", "data")
NUM_MICRO, NUM_MACRO = 4096, 3256
_MICRO_RE = re.compile(r"^64-41414-([0-3])_([0-3]{2})_([0-3]{3})$")
_MACRO_RE = re.compile(r"^64-([1-4]{4,6})-basic$")
_TUPLE_RE = re.compile(r"^[\(\[]\s*\d(\s*,\s*\d)*\s*,?\s*[\)\]]$")


# -- losses (official lib/losses/all.py and task configs) ----------------------------------------


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Official ``SoftmaxCrossEntropyWithLogits``: -sum(t * log(softmax(x) + 1e-5)), batch mean."""
    return -(target * torch.log(torch.softmax(logits, dim=-1) + 1e-5)).sum(dim=-1).mean()


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "class_scene": soft_cross_entropy,
    "class_object": soft_cross_entropy,
    "room_layout": nn.functional.mse_loss,
    "jigsaw": nn.functional.cross_entropy,
    "segmentsemantic": lambda out, y: nn.functional.cross_entropy(out, y.long()),
    # the generator is trained on 0.99 * L1 + 0.01 * GAN(discriminator); the discriminator is not
    # part of the scored network, so the task loss here is the L1 term alone (as NASLib uses).
    "normal": nn.functional.l1_loss,
    "autoencoder": nn.functional.l1_loss,
}


# -- architecture strings ----------------------------------------------------------------------


def _macro_ok(code: str) -> bool:
    down = sum(c in "34" for c in code)
    wide = sum(c in "24" for c in code)
    return 4 <= len(code) <= 6 and 1 <= down <= 4 and 1 <= wide <= 3


def micro_archs() -> list[str]:
    return [f"64-41414-{a}_{b}{c}_{d}{e}{f}" for a, b, c, d, e, f in itertools.product("0123", repeat=6)]


def macro_archs() -> list[str]:
    out = []
    for n in (4, 5, 6):
        out += [f"64-{''.join(c)}-basic" for c in itertools.product("1234", repeat=n) if _macro_ok("".join(c))]
    return out


def _tuple_digits(text: str) -> list[int]:
    return [int(t) for t in re.findall(r"\d", text)]


def _to_number(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _in_millions(value: Any, count_above: float) -> float:
    v = _to_number(value)
    return v / 1e6 if math.isfinite(v) and abs(v) > count_above else v


# -- the dump ----------------------------------------------------------------------------------


def read_tnb101_dump(path: str | Path) -> dict:
    """The checked top-level dict of a TransNAS-Bench-101 ``.pth``; DumpError otherwise."""
    obj = safe_torch_load(path)
    if not isinstance(obj, dict) or any(k not in obj for k in DUMP_KEYS):
        raise DumpError(f"{path}: not a TransNAS-Bench-101 dump (needs keys {', '.join(DUMP_KEYS)})")
    data = obj["data"]
    if not isinstance(data, dict) or not isinstance(data.get("macro"), dict) or not isinstance(data.get("micro"), dict):
        raise DumpError(f"{path}: not a TransNAS-Bench-101 dump ('data' needs 'macro' and 'micro' dicts)")
    if not isinstance(obj["metrics_dict"], dict):
        raise DumpError(f"{path}: not a TransNAS-Bench-101 dump ('metrics_dict' is not a dict)")
    return obj


def _metric_list(metrics: dict, name: str) -> list | None:
    """Per-epoch list of ``name``; the training code logged ``val_*`` where the API says ``valid_*``."""
    if name in metrics:
        return metrics[name]
    if name.startswith("valid_") and "val_" + name[6:] in metrics:
        return metrics["val_" + name[6:]]
    return None


def _best(values: Any, epochs: int | None) -> float:
    if not isinstance(values, (list, tuple)) or not values:
        return float("nan")
    vals = [_to_number(v) for v in (values if epochs is None else values[:epochs])]
    vals = [v for v in vals if not math.isnan(v)]
    return max(vals) if vals else float("nan")


class _TNB101(Space):
    """Shared logic of the two halves; subclasses set ``half`` and the arch grammar."""

    half: str = ""
    datasets = TASKS
    dump_files = ("transnas-bench_v10141024.pth",)
    dataloads = ("random",)
    count: int = 0

    def __init__(self) -> None:
        self._order: list[str] | None = None  # the dump's order, once read
        self._index: dict[str, int] = {}

    # architectures
    def _canonical(self, s: str) -> str:
        raise NotImplementedError

    def _from_tuple(self, digits: list[int]) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> str:
        s = str(text).strip()
        if s.isdigit():
            i = int(s)
            if self._order is None:
                raise ArchError(f"{self.name} index {i} needs the dump's order: give --dump")
            if not 0 <= i < len(self._order):
                raise ArchError(f"{self.name} index {i} out of range 0..{len(self._order) - 1}")
            return self._order[i]
        if _TUPLE_RE.match(s):
            return self._from_tuple(_tuple_digits(s))
        return self._canonical(s)

    def index_of(self, arch: str) -> int | None:
        if self._order is None:
            return None
        return self._index.get(arch)

    def enumerate(self) -> list[str]:
        return list(self._order) if self._order is not None else self._all()

    def _all(self) -> list[str]:
        raise NotImplementedError

    def from_naslib(self, key: str) -> str:
        """NASLib's op tuple (the Suite-Zero keys) → this space's canonical string."""
        return self.parse(naslib_key_to_arch(key, self.name))

    # trained results
    def load_dump(self, path: str | Path, dataset: str, epochs: int | None = None) -> Benchmark:
        """Headline val/test (best over epochs) of ``dataset`` for every arch of this half."""
        self.check_dataset(dataset)
        obj = read_tnb101_dump(path)
        if dataset not in list(obj["task_list"]):
            raise DumpError(f"{path}: task {dataset!r} not in the dump's task_list")
        val_name, test_name = HEADLINE[dataset]
        half = obj["data"][self.half]
        if epochs is not None and int(epochs) < 1:
            raise DumpError(f"epochs must be >= 1, got {epochs}")
        records = []
        order = []
        for i, (arch, tasks) in enumerate(half.items()):
            arch = str(arch)
            try:
                canon = self._canonical(arch)
            except ArchError:
                raise DumpError(f"{path}: {self.half} entry {i} {arch!r} is not a {self.name} architecture") from None
            order.append(canon)
            entry = tasks.get(dataset) if isinstance(tasks, dict) else None
            if not isinstance(entry, dict):
                records.append(Record(i, canon))
                continue
            metrics = entry.get("metrics", {}) or {}
            vlist, tlist = _metric_list(metrics, val_name), _metric_list(metrics, test_name)
            if vlist is None:
                raise DumpError(
                    f"{path}: {arch} {dataset} has no metric {val_name!r} (has {', '.join(sorted(map(str, metrics)))})"
                )
            info = entry.get("model_info", {}) or {}
            extra = {
                "params": _in_millions(info.get("model_params"), 1e3),
                "flops": _in_millions(info.get("model_FLOPs"), 1e5),
                "encoder_params": _in_millions(info.get("encoder_params"), 1e3),
            }
            k = None if epochs is None else int(epochs)
            records.append(Record(i, canon, _best(vlist, k), _best(tlist, k), extra))
        self._order = order
        self._index = {a: i for i, a in enumerate(order)}
        return Benchmark(self.name, dataset, str(path), records)

    # networks
    def build(self, arch: str, dataset: str, **options) -> nn.Module:
        """The official task model, initialised as the official constructors leave it: the encoder's
        ``MacroNet.__init__`` ends with ``_kaiming_init`` (Kaiming-normal fan_out convs, BN (1, 0)), so
        that is the default (``init='default'`` keeps PyTorch's default init instead);
        ``discriminator=True`` attaches the unused GAN discriminator of normal/autoencoder."""
        self.check_dataset(dataset)
        net = create_task_model(self.parse(arch), dataset, discriminator=bool(options.get("discriminator", False)))
        init = options.get("init", "official")
        if init == "official":
            official_init(net.encoder)
        elif init != "default":
            raise ArchError(f"unknown init {init!r} (choose default or official)")
        return net

    def input_spec(self, dataset: str) -> InputSpec:
        self.check_dataset(dataset)
        info = TASK_INFO[dataset]
        return InputSpec(input_shape(dataset), info.outputs, info.kind, info.mean, info.std, target_shape(dataset))

    def loss_fn(self, dataset: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        self.check_dataset(dataset)
        return LOSSES[dataset]

    # inputs: Taskonomy, not CIFAR
    def check_data(self, dataset: str, data_dir: str | Path | None) -> None:
        from ..data import default_data_dir

        check_taskonomy_root(data_dir or default_data_dir())

    def make_batch(
        self, dataset, batch_size, seed, *, data_dir=None, synthetic=False, dataload="random", dataload_info=1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Seeded Taskonomy samples of the task (NASLib's mini layout), or synthetic ones of the same shapes."""
        from ..data import default_data_dir

        self.check_dataset(dataset)
        if synthetic:
            return synthetic_taskonomy_batch(dataset, batch_size, seed)
        self.check_data(dataset, data_dir)
        return load_taskonomy_batch(data_dir or default_data_dir(), dataset, batch_size, seed)


@register_space
class TNB101Micro(_TNB101):
    name = "tnb101_micro"
    description = "TransNAS-Bench-101 micro: 4,096 cells (4 ops on 6 edges) in a fixed 41414 skeleton, 7 tasks"
    half = "micro"
    count = size = NUM_MICRO

    def _canonical(self, s: str) -> str:
        if not _MICRO_RE.match(s):
            raise ArchError(f"invalid TNB101 micro architecture {s!r}: expected 64-41414-a_bc_def with digits 0-3")
        return s

    def _from_tuple(self, digits: list[int]) -> str:
        if len(digits) != 6 or any(d > 3 for d in digits):
            raise ArchError(f"invalid TNB101 micro op tuple {digits}: need 6 ops in 0..3")
        return "64-41414-{}_{}{}_{}{}{}".format(*digits)

    def _all(self) -> list[str]:
        return micro_archs()

    def encode(self, arch: str) -> np.ndarray:
        """6 edges x 4 ops one-hot of ``64-41414-a_bc_def`` (the search predictor's features)."""
        m = _MICRO_RE.match(self.parse(arch))
        assert m is not None
        out = np.zeros((6, 4))
        out[np.arange(6), [int(c) for c in "".join(m.groups())]] = 1.0
        return out.ravel()

    def neighbours(self, arch: str) -> list[str]:
        """The 18 cells that differ from ``arch`` in the op (0-3) of exactly one of the 6 edges."""
        m = _MICRO_RE.match(self.parse(arch))
        assert m is not None  # parse returned a canonical micro string
        digits = list("".join(m.groups()))
        out = []
        for k, d in enumerate(digits):
            for new in "0123":
                if new != d:
                    ds = digits[:k] + [new] + digits[k + 1 :]
                    out.append("64-41414-{}_{}{}_{}{}{}".format(*ds))
        return out


@register_space
class TNB101Macro(_TNB101):
    name = "tnb101_macro"
    description = "TransNAS-Bench-101 macro: 3,256 ResNet skeletons of 4-6 modules, 7 tasks"
    half = "macro"
    count = size = NUM_MACRO

    def _canonical(self, s: str) -> str:
        m = _MACRO_RE.match(s)
        if not m:
            raise ArchError(f"invalid TNB101 macro architecture {s!r}: expected 64-<4-6 digits 1-4>-basic")
        if not _macro_ok(m.group(1)):
            raise ArchError(
                f"invalid TNB101 macro architecture {s!r}: needs 1-4 downsampling (3/4) "
                f"and 1-3 channel-doubling (2/4) modules"
            )
        return s

    def _from_tuple(self, digits: list[int]) -> str:
        code = "".join(str(d) for d in digits if d != 0)
        if any(d > 4 for d in digits):
            raise ArchError(f"invalid TNB101 macro op tuple {digits}: ops must be 0..4")
        return self._canonical(f"64-{code}-basic")

    def _all(self) -> list[str]:
        return macro_archs()

    def encode(self, arch: str) -> np.ndarray:
        """6 module slots x 5 one-hot of ``64-<code>-basic`` (0 = no module in that slot, 1-4 the module
        type), as NASLib's ``adjacency_one_hot`` for TNB101-macro: the predictor features."""
        m = _MACRO_RE.match(self.parse(arch))
        assert m is not None
        code = [int(c) for c in m.group(1)] + [0] * (6 - len(m.group(1)))
        out = np.zeros((6, 5))
        out[np.arange(6), code] = 1.0
        return out.ravel()

    def neighbours(self, arch: str) -> list[str]:
        """Codes one edit away: one module changed to another type (1-4), one module inserted
        (length < 6) or one removed (length > 4); only codes ``_macro_ok`` accepts, deduplicated.
        The move set is symmetric (an insertion is undone by a removal and vice versa)."""
        m = _MACRO_RE.match(self.parse(arch))
        assert m is not None
        code = m.group(1)
        cands = []
        for k, d in enumerate(code):  # substitutions
            cands += [code[:k] + new + code[k + 1 :] for new in "1234" if new != d]
        if len(code) < 6:  # insertions
            cands += [code[:k] + new + code[k:] for k in range(len(code) + 1) for new in "1234"]
        if len(code) > 4:  # removals
            cands += [code[:k] + code[k + 1 :] for k in range(len(code))]
        out: list[str] = []
        seen = {code}
        for c in cands:
            if c not in seen and _macro_ok(c):
                seen.add(c)
                out.append(f"64-{c}-basic")
        return out


# -- NASLib's encoding (NAS-Bench-Suite-Zero keys) ---------------------------------------------


def naslib_key_to_arch(key: str, space: str) -> str:
    """NASLib's TNB101 hash ``str(tuple(op_indices))`` of ``space`` (tnb101_micro / tnb101_macro) → the
    canonical string. NASLib builds and queries these nets through ``convert_op_indices_micro_to_str``
    (digits in place, no reordering) and ``..._macro_to_str`` (zeros dropped), which is what ``parse``
    does with a tuple. Raises ArchError."""
    cls = {"tnb101_micro": TNB101Micro, "tnb101_macro": TNB101Macro}.get(space)
    if cls is None:
        raise ArchError(f"no TransNAS-Bench-101 space {space!r}")
    s = str(key).strip()
    if not _TUPLE_RE.match(s):
        raise ArchError(f"invalid NASLib {space} key {s[:60]!r}: expected a tuple of op digits")
    return cls()._from_tuple(_tuple_digits(s))
