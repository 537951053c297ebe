"""The HDF5 results layout, a run's key, its identity, and the rules for mixing rows — documented once here.

Layout::

    /                                   attrs: format="zcbench", format_version=1
    /runs/<space>/<dataset>/<proxy>/<setting>     one group per run
        attrs: space, dataset, proxy, seed, batch_size, dataload, dataload_info, data_source, data_free,
               options (JSON), code, source        -- the key (also encoded in the group path)
               dump, truth, data_id, device, zcbench, torch, h5py, created, updated  -- the identity
               gpu, capability, cuda, cudnn, tf32   -- the identity of CUDA runs (as the workers saw them)
        index          int64    official index (-1 where the space has none)
        arch           str      canonical architecture string, each at most once per run
        score          float64  raw proxy value (NaN = failed, see error)
        seconds        float64  wall time of the proxy on this architecture
        val_accuracy   float64  from the dump (NaN without one), in the dump's units (% for accuracies)
        test_accuracy  float64
        error          str      why the score is NaN ('' when it is a value)

A run = everything a score depends on besides the architecture. The **key** decides which group a
row goes to: ``<setting>`` is ``s<seed>`` for data-free proxies and
``s<seed>-b<batch>-<dataload><info>-<source>`` otherwise, plus ``-o<hash>`` for non-default proxy
options, ``-c<code>`` for a plugin proxy's code fingerprint and, for imported published scores,
``src-<sha8>`` alone. Data-free keys carry no batch, dataload or image source (they read none), so a
data-free score is reused whatever the batch.

The **identity** is what else changes a stored value; it is recorded on the run and a row may only
join a run whose identity it shares (:func:`identity_conflict`), on ``score`` resume and on
``merge`` alike:

* ``truth`` — where the accuracy columns come from: the dump's fingerprint and schedule
  (``NAS-Bench-201-v1_1-096897.pth:4.7e9:…;epochs=200``), or ``none`` without a dump. Never mixed.
* ``data_id`` — a hash of the minibatch itself (inputs and targets), so another image copy, data
  dir or loader version can never pass for the same data. Never mixed. Empty for data-free runs.
* ``device`` kind (cpu/cuda: kernels differ in the last bits) and the ``zcbench``/``torch``
  versions — mixed only with ``--ignore-versions``.
* CUDA runs also record, as their workers report them, the GPU model (``gpu``) and compute capability,
  the ``cuda`` and ``cudnn`` versions and the ``tf32`` setting (always ``off``): kernels, and so the last
  bits of a score, depend on all of them. Mixed only with ``--ignore-versions``. A CUDA run stored before
  these were recorded (TF32 was then on for convolutions) does not take rows that have them, nor the
  reverse. CPU runs record none of them, so their identity is what it always was.
* ``source`` — imported runs: the file and checksum the scores came from.

Rows: a run never holds an architecture twice. A new row for an architecture already in the run
is accepted only when the stored row is a failure (``--retry-failed``, or a merge in which a value
replaces a recorded failure) and then replaces it; a row bit-equal to the stored one is a replay
(journal after a crash) and is skipped; anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .fingerprints import NO_TRUTH

FORMAT = "zcbench"
FORMAT_VERSION = 1
COLUMNS = ("index", "arch", "score", "seconds", "val_accuracy", "test_accuracy", "error")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class RunKey:
    """What a score depends on besides the architecture and the identity (see the module docstring)."""

    space: str
    dataset: str
    proxy: str
    seed: int = 0
    batch_size: int = 64
    dataload: str = "random"
    dataload_info: int = 1
    data_source: str = "synthetic"  # 'synthetic' or 'images' ('none' for data-free, 'imported' for imports)
    data_free: bool = False
    options: str = ""  # canonical JSON of non-default proxy options ('' when none)
    code: str = ""  # a plugin proxy's code fingerprint ('' for built-ins)
    source: str = ""  # imported runs: "<origin>:<file>:sha256=<hex>"

    @property
    def setting(self) -> str:
        if self.source:
            return "src-" + hashlib.sha1(self.source.encode()).hexdigest()[:8]
        if self.data_free:
            s = f"s{self.seed}"
        else:
            s = f"s{self.seed}-b{self.batch_size}-{self.dataload}{self.dataload_info}-{self.data_source}"
        if self.options:
            s += "-o" + hashlib.sha1(self.options.encode()).hexdigest()[:8]
        if self.code:
            s += "-c" + _SAFE.sub("_", self.code)[:24]
        return s

    @property
    def path(self) -> str:
        return f"runs/{self.space}/{self.dataset}/{self.proxy}/{self.setting}"

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> RunKey:
        """The key of a stored run (older files lack ``code``/``source``)."""
        return cls(
            space=str(attrs["space"]),
            dataset=str(attrs["dataset"]),
            proxy=str(attrs["proxy"]),
            seed=int(attrs.get("seed", 0)),
            batch_size=int(attrs.get("batch_size", 64)),
            dataload=str(attrs.get("dataload", "random")),
            dataload_info=int(attrs.get("dataload_info", 1)),
            data_source=str(attrs.get("data_source", "synthetic")),
            data_free=bool(attrs.get("data_free", False)),
            options=str(attrs.get("options", "")),
            code=str(attrs.get("code", "")),
            source=str(attrs.get("source", "")),
        )


@dataclass(slots=True)  # a writer holds every row of its runs: millions at NB101 scale
class Row:
    index: int
    arch: str
    score: float
    seconds: float
    val_accuracy: float = float("nan")
    test_accuracy: float = float("nan")
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


@dataclass
class RunInfo:
    """A run's identity and provenance, written as attributes of its group (see the module docstring)."""

    dump: str = ""  # the dump path as given (informational: paths differ between machines)
    truth: str = ""  # '' = not recorded (older files); NO_TRUTH = scored without a dump
    data_id: str = ""
    device: str = "cpu"
    versions: dict[str, str] = field(default_factory=dict)  # zcbench, torch (filled by whoever computed)
    extra: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, str] = field(default_factory=dict)  # HARDWARE of a CUDA run, as its workers reported

    def attrs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dump": self.dump, "truth": self.truth, "data_id": self.data_id, "device": self.device}
        out.update(self.versions)
        out.update(self.hardware)
        for k, v in self.extra.items():
            out[k] = v if isinstance(v, (int, float, str, bool)) else json.dumps(v)
        return out

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> RunInfo:
        versions = {k: str(attrs[k]) for k in ("zcbench", "torch") if k in attrs}
        return cls(
            dump=str(attrs.get("dump", "")),
            truth=str(attrs.get("truth", "")),
            data_id=str(attrs.get("data_id", "")),
            device=str(attrs.get("device", "cpu")),
            versions=versions,
            hardware={k: str(attrs[k]) for k in HARDWARE if k in attrs},
        )


HARDWARE = ("gpu", "capability", "cuda", "cudnn", "tf32")  # a CUDA run's identity beyond its versions
_HARDWARE_NAMES = {"gpu": "GPU", "capability": "compute capability", "cuda": "CUDA", "cudnn": "cuDNN", "tf32": "TF32"}


def device_kind(device: str) -> str:
    """``cuda:1`` → ``cuda``; ``cuda:0,cuda:1`` → ``cuda``; ``cpu`` → ``cpu``."""
    return str(device).split(",")[0].split(":")[0].strip() or "cpu"


def describe_truth(truth: str) -> str:
    if truth == NO_TRUTH:
        return "no accuracies (scored without --dump)"
    name, _, rest = truth.partition(":")
    epochs = truth.rpartition(";epochs=")[2] if ";epochs=" in truth else "default"
    sched = "the default schedule" if epochs == "default" else f"{epochs} epochs"
    return f"accuracies from {name} ({sched}, fingerprint {rest.partition(';')[0]})"


def identity_conflict(
    old: dict[str, Any], new: RunInfo, allow_mixed: bool = False, hardware: bool = True
) -> str | None:
    """Why rows with identity ``new`` may not join a run whose attributes are ``old`` (None: they may).

    The message names the real difference and is one line; attributes an older file lacks are not checked,
    except a CUDA run's hardware (:func:`hardware_conflict`). ``hardware=False`` leaves the hardware out
    (the planner, before the workers have reported it)."""
    old_truth, old_data = str(old.get("truth", "")), str(old.get("data_id", ""))
    if old_truth and new.truth and old_truth != new.truth:
        return f"it holds {describe_truth(old_truth)}, this holds {describe_truth(new.truth)}"
    if old_data and new.data_id and old_data != new.data_id:
        return (
            f"its minibatch differs from this one (data fingerprint {old_data} vs {new.data_id}: "
            "other images, data dir or loader)"
        )
    if allow_mixed:
        return None
    a, b = device_kind(str(old.get("device", ""))), device_kind(new.device)
    if old.get("device") and a != b:
        return f"it was computed on {a}, this on {b} (kernels differ in the last bits; --ignore-versions to allow)"
    for name in ("zcbench", "torch"):
        va, vb = old.get(name), new.versions.get(name)
        if va is not None and vb is not None and str(va) != str(vb):
            return f"it was computed with {name} {va}, this with {name} {vb} (--ignore-versions to allow)"
    return hardware_conflict(old, new) if hardware and b == "cuda" else None


def hardware_conflict(old: dict[str, Any], new: RunInfo) -> str | None:
    """Why CUDA rows of ``new``'s GPU and libraries may not join the CUDA run ``old`` (None: they may).
    One side recording them and the other not is a difference too: a CUDA run stored before zcbench
    recorded them ran with TF32 on."""
    recorded = [k for k in HARDWARE if k in old]
    if bool(recorded) != bool(new.hardware):
        then, now = ("it", "this") if not recorded else ("this", "it")
        return (
            f"{then} was computed on a GPU before zcbench recorded the GPU model, CUDA/cuDNN versions and TF32 "
            f"(TF32 was then on), {now} with them recorded (--ignore-versions to allow)"
        )
    for k in HARDWARE:
        va, vb = old.get(k), new.hardware.get(k)
        if va is not None and vb is not None and str(va) != str(vb):
            if k in ("gpu", "capability"):
                why = f"it was computed on {_gpu_label(old)}, this on {_gpu_label(new.hardware)}"
            else:
                why = f"it was computed with {_HARDWARE_NAMES[k]} {va}, this with {vb}"
            return why + " (--ignore-versions to allow)"
    return None


def _gpu_label(hw: dict[str, Any]) -> str:
    return f"{hw.get('gpu', '?')} (compute capability {hw.get('capability', '?')})"


def describe_hardware(hw: dict[str, Any]) -> str:
    """``NVIDIA H200 (compute capability 9.0, CUDA 12.4, cuDNN 90100, TF32 off)``; ``cpu`` for {}."""
    if not hw:
        return "cpu"
    rest = ", ".join(f"{_HARDWARE_NAMES[k]} {hw[k]}" for k in HARDWARE[1:] if k in hw)
    return f"{hw.get('gpu', '?')} ({rest})"


def same_row(a: Row, b: Row) -> bool:
    """Bit-equal rows (NaN equals NaN): a journal line already folded into the HDF5 file."""

    def eq(x: float, y: float) -> bool:
        return (math.isnan(x) and math.isnan(y)) or x == y

    return a.arch == b.arch and a.error == b.error and eq(a.score, b.score) and eq(a.seconds, b.seconds)


class RowConflict(Exception):
    """A row for an architecture the run already holds with a (different) value."""


def merge_row(old: Row | None, new: Row) -> Row | None:
    """The row to keep when ``new`` arrives for an arch stored as ``old``: ``new`` (first, or it replaces a
    failure), ``None`` (the same value again, or a failure that must not overwrite a value), or RowConflict."""
    if old is None:
        return new
    if old.error == new.error and (old.score == new.score or (math.isnan(old.score) and math.isnan(new.score))):
        return None  # a replay, or the same value computed again (timing aside): keep the stored row
    if old.failed:
        return new
    if new.failed:
        return None  # a recorded value is never replaced by a failure
    raise RowConflict(f"{new.arch} is already stored with score {old.score!r}; refusing a second row ({new.score!r})")


def row_to_json(key: RunKey, info: RunInfo, row: Row) -> str:
    return json.dumps({"key": asdict(key), "info": asdict(info), "row": asdict(row)}, allow_nan=True)
