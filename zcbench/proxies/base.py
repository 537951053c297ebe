"""Proxy registry and the context a proxy is computed in.

A proxy is a plain function ``fn(net, ctx) -> float`` registered with :func:`register_proxy`,
its needs, its options and its paper declared beside it. It receives a freshly built network at
the seeded initialisation (it may modify it freely) and a :class:`ProxyContext` holding the
minibatch and task. A proxy never knows about files, stores or workers.

Options (``--option KEY=VALUE``) are declared per proxy as :class:`Option` objects, so a value of
the wrong type or range is refused before any work, a proxy that cannot run without an option
(``reg_swap``) says so up front, and an option equal to its default does not split the cache.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import UsageError
from ..registry import Registry
from .fingerprint import function_fingerprint

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


@dataclass(frozen=True)
class Option:
    """One option a proxy reads from ``ctx.options``: its type, default and valid range.

    ``default=None`` with ``required=True`` means there is no sensible default (the value must be
    given); ``minimum``/``positive`` bound numbers. ``doc`` is shown by ``zcbench proxies``."""

    type: type = float
    default: Any = None
    required: bool = False
    minimum: float | None = None
    positive: bool = False
    doc: str = ""

    def parse(self, key: str, value: Any) -> Any:
        """``value`` (a JSON-decoded CLI string, or a Python value) as this option's type; UsageError otherwise."""
        want = _TYPE_NAMES.get(self.type, self.type.__name__)
        if self.type is bool:
            if isinstance(value, bool):
                return value
            raise UsageError(f"option {key}={value!r}: expected {want}")
        if self.type is int:
            if isinstance(value, bool) or not (
                isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            ):
                raise UsageError(f"option {key}={value!r}: expected {want}")
            value = int(value)
        elif self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                raise UsageError(f"option {key}={value!r}: expected {want}")
            value = float(value)
        elif not isinstance(value, self.type):
            raise UsageError(f"option {key}={value!r}: expected {want}")
        if self.positive and value <= 0:
            raise UsageError(f"option {key}={value!r}: must be > 0")
        if self.minimum is not None and value < self.minimum:
            raise UsageError(f"option {key}={value!r}: must be >= {self.minimum:g}")
        return value


# Names a proxy cannot declare as options: the run key writes the run's batch size (a data-free proxy that
# reads ``ctx.batch_size``) and ``--oom split`` (a proxy that reads ``ctx.split_data``) under them.
RESERVED_OPTIONS = ("batch_size", "oom")
# The stored reason of a proxy that read an option it does not declare (see ProxyOptions): such a failure
# says nothing about the computation the run key names, so it is never served from the cache.
UNDECLARED = "OptionNotDeclared"


class OptionNotDeclared(KeyError):
    """A proxy read ``ctx.options[key]`` for a key it does not declare: its run key could not hold the value."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ProxyOptions(dict):
    """``ctx.options`` as one proxy sees it: every option it declares, its default unless given. Reading any
    other key is :class:`OptionNotDeclared` (the run's batch size is ``ctx.batch_size``)."""

    def __missing__(self, key: str) -> Any:
        raise OptionNotDeclared(
            f"option {key!r} is read but not declared by this proxy (declare it: options={{{key!r}: Option(...)}})"
        )


@dataclass(frozen=True)
class ProxySpec:
    """A registered proxy and what it needs to run."""

    name: str
    fn: Callable[[nn.Module, ProxyContext], float]
    images: bool = True  # needs real (or synthetic) input images
    labels: bool = False  # needs targets / a loss
    grad: bool = False  # runs a backward pass
    float64: bool = False  # computed in double precision
    head: bool = False  # needs a classification head (K-way logits)
    paper: str = ""
    description: str = ""
    # Proxies whose scores this one is computed from (``vote``: synflow, jacov, snip). A proxy with
    # inputs stores no per-architecture value itself; its inputs are computed and stored instead.
    inputs: tuple[str, ...] = ()
    # The ``ctx.options`` keys the proxy reads: part of its run's cache key (see RunSettings.run_key).
    options: Mapping[str, Option] = field(default_factory=dict)
    # Reads ``ctx.batch_size`` (zen draws its own inputs of the run's batch size): a data-free proxy's run key
    # then carries the batch size.
    uses_batch_size: bool = False
    # May read ``ctx.split_data`` (process the minibatch in pieces after an out-of-memory error): with
    # ``--oom split`` its run key says so, and its minibatch is split on an out-of-memory error.
    splits: bool = True
    # Where the code comes from: "zcbench" (built in), "plugin:<file>", "entry-point:<dist>", "callable:<mod:qual>",
    # "module:<name>" (a module that registered proxies when imported some other way, e.g. in a notebook).
    origin: str = "zcbench"
    # Fingerprint of a plugin's code (declared version or source hash); part of its cache key. "" = built in.
    code: str = ""
    # The ``version=`` its author declared ("" = none): pins ``code`` to ``v<version>`` wherever it is loaded from.
    version: str = ""

    @property
    def data_free(self) -> bool:
        return not self.images

    @property
    def builtin(self) -> bool:
        return self.origin == "zcbench"

    @property
    def option_keys(self) -> tuple[str, ...]:
        return tuple(self.options)

    def required_options(self) -> tuple[str, ...]:
        return tuple(k for k, o in self.options.items() if o.required)

    def option_values(self, given: Mapping[str, Any]) -> ProxyOptions:
        """What this proxy finds in ``ctx.options``: each declared option as ``given`` (the run's options,
        defaults filled in) has it, else its default. Nothing else."""
        out = ProxyOptions()
        for k, opt in self.options.items():
            if k in given or not opt.required:
                out[k] = given.get(k, opt.default)
        return out

    def option_failure(self, error: str) -> bool:
        """Whether a stored failure came from reading an option (undeclared, or a declared one that older
        zcbench left out of ``ctx.options``): such a row is scored again rather than served as cached."""
        return error.startswith(UNDECLARED + ":") or error in {f"KeyError: {k!r}" for k in self.options}

    def needs(self) -> list[str]:
        """What the proxy needs, in words (``zcbench proxies``)."""
        return [
            w
            for w, on in (
                ("images", self.images),
                ("labels", self.labels),
                ("grad", self.grad),
                ("float64", self.float64),
                ("head", self.head),
            )
            if on
        ] or ["nothing (data-free)"]


PROXIES: Registry[ProxySpec] = Registry("proxy")


# A proxy name is a store group, a file name in plots, a results column and a --proxy word: no path separator
# or "..", no wildcard, no "@" (imported columns are "<proxy>@<origin>"), no comma, blank or "all".
_PROXY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


def check_proxy_name(name: Any) -> str:
    """``name`` if it can name a proxy, else a one-line UsageError saying what a name may hold."""
    if not isinstance(name, str) or not _PROXY_NAME.fullmatch(name) or ".." in name or name == "all":
        raise UsageError(
            f"proxy name {name!r} is not allowed: use letters, digits and _ . + - (no '/', '..', wildcards, '@', "
            "commas or blanks; not 'all')"
        )
    return name


# What ``register_proxy`` takes besides the name and ``version``: the ProxySpec fields a proxy declares.
DECLARED = ("images", "labels", "grad", "float64", "head", "paper", "description", "inputs", "options")
DECLARED += ("uses_batch_size", "splits")


def register_proxy(name: str, *, version: str | None = None, **declared: Any) -> Callable:
    """Decorator registering ``fn(net, ctx) -> float`` as proxy ``name``, with what it declares (the
    :class:`ProxySpec` fields of :data:`DECLARED`: ``images=True``, ``labels``, ``grad``, ``float64``,
    ``head``, ``paper``, ``description`` (default: the docstring's first line), ``inputs``, ``options``,
    ``uses_batch_size`` (it reads ``ctx.batch_size``) and ``splits=True`` (it may read ``ctx.split_data``;
    ``False``: ``--oom split`` cannot change its value; built-ins say so, a plugin is assumed to)).

    Plugins use the same decorator; ``version="1.2"`` pins a plugin's code fingerprint by hand
    (otherwise it hashes the plugin file and the user's modules it imports: ``proxies/fingerprint.py``).
    A function outside zcbench that is registered by a plain import (not ``--plugin``) is no built-in
    either: its origin is its module, fingerprinted the same way."""
    check_proxy_name(name)
    unknown = sorted(set(declared) - set(DECLARED))
    if unknown:
        raise TypeError(f"register_proxy() got an unexpected keyword argument {unknown[0]!r}")
    reserved = [k for k in declared.get("options") or {} if k in RESERVED_OPTIONS]
    if reserved:
        raise UsageError(f"proxy {name!r}: option name {reserved[0]!r} is reserved (the run's own setting)")

    def deco(fn: Callable) -> Callable:
        builtin = str(getattr(fn, "__module__", "")).startswith(f"{__package__}.")
        if version:
            code = f"v{version}"
        elif builtin:
            code = ""
        else:
            code = function_fingerprint(fn)
        fields = declared | {
            "inputs": tuple(declared.get("inputs", ())),
            "options": dict(declared.get("options") or {}),
            "description": declared.get("description") or ((fn.__doc__ or "").strip().splitlines() or [""])[0],
        }
        spec = ProxySpec(
            name,
            fn,
            **fields,
            origin="zcbench" if builtin else f"module:{fn.__module__}",
            code=code,
            version=str(version or ""),
        )
        if name in PROXIES:
            raise UsageError(f"proxy {name!r} is already registered ({PROXIES.get(name).origin}); choose another name")
        PROXIES.add(name, spec)
        return fn

    return deco


@dataclass
class ProxyContext:
    """Everything a proxy may use besides the network.

    ``inputs``/``targets`` are the architecture's minibatch (the same for every proxy of an
    architecture; each proxy gets its own copy, so changing it affects no other proxy); ``input_shape`` is
    the per-sample shape and ``batch_size`` the run's batch size, so data-free proxies can make their own
    inputs; ``options`` carries per-proxy settings (e.g. ``swap_repeats``, ``reg_swap_mu``): each proxy
    sees the options it declares, at their defaults unless given (:meth:`ProxySpec.option_values`).
    """

    inputs: torch.Tensor | None
    targets: torch.Tensor | None
    input_shape: tuple[int, ...]
    num_classes: int
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = nn.functional.cross_entropy
    task: str = "classification"
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    options: dict[str, Any] = field(default_factory=dict)
    split_data: int = 1  # >1 after a CUDA OOM (``--oom split``): the minibatch is processed in this many pieces
    batch_size: int | None = None  # the run's --batch-size (None: not part of a run)


def get_proxy(name: str) -> ProxySpec:
    return PROXIES.get(name)


@dataclass
class Selection:
    """Proxies chosen by ``--proxy`` patterns, and those a wildcard left out for want of options."""

    names: list[str]
    skipped: dict[str, tuple[str, ...]] = field(default_factory=dict)  # proxy -> required options missing

    def note(self) -> str:
        """One line for the user, or '' (``all`` without reg_swap's μ and σ, say)."""
        if not self.skipped:
            return ""
        parts = [f"{p} (needs {', '.join('--option ' + o + '=...' for o in opts)})" for p, opts in self.skipped.items()]
        return "left out " + "; ".join(parts)


def select_proxies(patterns: Iterable[str], options: Mapping[str, Any] | None = None) -> Selection:
    """Names for ``--proxy`` values (names, ``all`` or wildcards).

    A proxy that needs options nobody gave is left out of ``all`` and wildcards (and listed in
    ``skipped``); naming it explicitly without them is an error before any work."""
    options = options or {}
    explicit: set[str] = set()
    for pat in patterns:
        for part in str(pat).split(","):
            part = part.strip()
            if part and part != "all" and not any(c in part for c in "*?["):
                explicit.add(part)
    names = PROXIES.select(patterns)
    chosen: list[str] = []
    skipped: dict[str, tuple[str, ...]] = {}
    for n in names:
        missing = tuple(k for k in PROXIES.get(n).required_options() if k not in options)
        if not missing:
            chosen.append(n)
        elif n in explicit:
            raise UsageError(
                f"proxy {n} needs {', '.join('--option ' + k + '=VALUE' for k in missing)} "
                f"({PROXIES.get(n).options[missing[0]].doc or 'no published default'})"
            )
        else:
            skipped[n] = missing
    if not chosen:
        raise UsageError(f"no proxy left to score: {Selection([], skipped).note()}")
    return Selection(chosen, skipped)
