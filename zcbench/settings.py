"""The public vocabulary of a score run: what is scored, which architectures, and how it runs.

* :class:`RunSettings` — *what is scored*: every setting a stored value depends on (space, dataset,
  proxies and their options, seed, batch, data, dump and schedule). Its :meth:`RunSettings.run_key`
  and the run's identity (``zcbench.store.schema``) are derived from it and nothing else.
* :class:`ArchSelection` — *which architectures*: a list, a file, a seeded sample, a limit. It never
  changes a stored value, only which rows exist.
* :class:`Execution` — *where and how*: device(s), worker processes, executor, timeout, shard,
  progress. It never changes a stored value either (scores are seeded per architecture).

The CLI builds these three objects once from its options and hands them to the engine; the Python API
(``zcbench.api``) takes the same objects. Defaults are defined here and nowhere else.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import UsageError

DEFAULT_RESULTS = "results/zcbench.h5"
DEFAULT_SEED = 0
DEFAULT_BATCH_SIZE = 64
DEFAULT_DATALOAD = "random"
DEFAULT_DEVICE = "cpu"
# what `zcbench bench-engine` times unless told otherwise: cheap proxies, so the engine's own cost shows
BENCH_SPACE = "nb201"
BENCH_ENGINE_PROXIES = ("params", "flops", "synflow")
BENCH_ENGINE_ARCHS = 48
DATALOADS = ("random", "grasp")
# what a proxy that runs out of GPU memory at the run's batch size gets: a failed row ("fail"), or its
# minibatch processed in pieces ("split": BatchNorm then sees other statistics, so a run of its own)
OOM_POLICIES = ("fail", "split")
DEFAULT_OOM = "fail"
EXECUTORS = ("local", "ray")
# what the commands that read results share (click reads them while it builds options, so ``--help`` stays fast)
TARGETS = ("val", "test")  # the accuracy a correlation is computed against
TABLE_FORMATS = ("table", "markdown", "csv", "json", "latex")  # what every table-printing command can write


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class RunSettings:
    """Everything a run's stored values depend on, besides the architecture.

    ``proxies`` may hold names, wildcards (``syn*``) or ``all`` until :meth:`validated` expands them.
    ``options`` are proxy options (``{"swap_repeats": 8}``); ``plugins`` are plugin files or modules
    whose proxies the run uses (worker processes load them too)."""

    space: str
    dataset: str | None = None
    proxies: tuple[str, ...] = ()
    seed: int = DEFAULT_SEED
    batch_size: int = DEFAULT_BATCH_SIZE
    dataload: str = DEFAULT_DATALOAD
    dataload_info: int | None = None  # images per class with dataload "grasp" (default 1); unused otherwise
    synthetic: bool = False
    data_dir: str | None = None
    dump: str | None = None
    epochs: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    variant: str | None = None
    plugins: tuple[str, ...] = ()
    oom: str = DEFAULT_OOM  # see OOM_POLICIES
    notes: tuple[str, ...] = field(default=(), compare=False)  # what validation decided (e.g. proxies left out)
    # (proxy, code fingerprint) of the plugin proxies as validated: a worker refuses to score other code
    codes: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    # -- derived ------------------------------------------------------------------------------------
    @property
    def store_space(self) -> str:
        """The space name in the store: a non-default variant is a different network, so its scores form
        their own (space, dataset) table."""
        return f"{self.space}[{self.variant}]" if self.variant else self.space

    @property
    def info_per_class(self) -> int:
        return self.dataload_info or 1

    def stored_proxies(self) -> list[str]:
        """The proxies that get a stored run: ``vote`` is replaced by its inputs (it has no per-arch value)."""
        from .proxies.runner import expand_names

        return expand_names(self.proxies)

    @property
    def needs_images(self) -> bool:
        from .proxies import PROXIES

        return any(PROXIES.get(p).images for p in self.stored_proxies())

    def context_options(self) -> dict[str, Any]:
        """``ctx.options`` of the run: every option its proxies declare at its default, and the options given
        (each proxy then sees only its own: ``ProxySpec.option_values``; the batch size is ``ctx.batch_size``)."""
        from .proxies import PROXIES

        out: dict[str, Any] = {}
        for p in self.stored_proxies():
            for k, opt in PROXIES.get(p).options.items():
                if not opt.required:
                    out.setdefault(k, opt.default)
        return out | dict(self.options)

    def make_batch(self, space):
        """The run's minibatch in ``space`` (a Space): what every worker builds, and what the planner hashes."""
        return space.make_batch(
            self.dataset, self.batch_size, self.seed, data_dir=self.data_dir, synthetic=self.synthetic,
            dataload=self.dataload, dataload_info=self.info_per_class,
        )  # fmt: skip

    def run_key(self, proxy: str):
        """The store key of ``proxy``'s run. Only what the proxy reads is part of it: a data-free proxy's key
        has no batch, dataload or image source (but the batch size when it reads ``ctx.batch_size``); only the
        options it declares (not equal to their default); ``oom: split`` when it may split its minibatch."""
        from .proxies import PROXIES
        from .store import RunKey

        spec = PROXIES.get(proxy)
        opts: dict[str, Any] = {
            k: self.options[k] for k, o in spec.options.items() if self.options.get(k, o.default) != o.default
        }
        if spec.data_free and spec.uses_batch_size:
            opts["batch_size"] = self.batch_size
        if self.oom != DEFAULT_OOM and spec.splits:
            opts["oom"] = self.oom
        common = dict(
            space=self.store_space,
            dataset=self.dataset,
            proxy=proxy,
            seed=self.seed,
            options=json.dumps(opts, sort_keys=True) if opts else "",
            code=spec.code,
        )
        if spec.data_free:
            return RunKey(**common, batch_size=0, dataload="none", dataload_info=0, data_source="none", data_free=True)
        return RunKey(
            **common,
            batch_size=self.batch_size,
            dataload=self.dataload,
            dataload_info=self.info_per_class,
            data_source="synthetic" if self.synthetic else "images",
            data_free=False,
        )

    # -- validation -----------------------------------------------------------------------------------
    def validated(self) -> RunSettings:
        """A checked, normalised copy: dataset defaulted, proxy patterns expanded, options typed. Raises
        UsageError (one line) for anything a run could not do — before any work starts."""
        from .proxies import PROXIES, select_proxies
        from .proxies.plugins import env_plugins, load_plugins
        from .spaces import get_space

        # $ZCBENCH_PLUGINS joins the run's plugins (so remote workers get them), files by absolute path
        plugins = tuple(
            dict.fromkeys(
                os.path.abspath(os.path.expanduser(p)) if p.endswith(".py") or os.path.isfile(p) else p
                for p in (*env_plugins(), *self.plugins)
            )
        )
        load_plugins(plugins)
        space = get_space(self.space)
        dataset = space.check_dataset(self.dataset or space.datasets[0])
        space.check_variant(self.variant)
        if not self.proxies:
            raise UsageError("no proxy given (--proxy NAME, a wildcard such as 'syn*', or all)")
        _positive_int("--batch-size", self.batch_size)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise UsageError(f"--seed must be a non-negative integer, got {self.seed!r}")
        if self.dataload not in DATALOADS:
            raise UsageError(f"unknown --dataload {self.dataload!r} (choose from {', '.join(DATALOADS)})")
        if self.dataload_info is not None:
            _positive_int("--dataload-info", self.dataload_info)
            if self.dataload != "grasp":
                raise UsageError("--dataload-info (images per class) only applies to --dataload grasp")
        if self.dataload == "grasp":
            if self.synthetic:
                raise UsageError(
                    "--dataload grasp picks images per class from the real training set; --synthetic has none"
                )
            if "grasp" not in space.dataloads:
                raise UsageError(f"space {self.space!r} has no per-class loader; use --dataload random")
        if self.oom not in OOM_POLICIES:
            raise UsageError(f"unknown --oom {self.oom!r} (choose from {', '.join(OOM_POLICIES)})")
        if self.epochs is not None:
            _positive_int("--epochs", self.epochs)
            if not self.dump:
                raise UsageError("--epochs selects the accuracies of a dump: give --dump too")
        selection = select_proxies(self.proxies, self.options)
        names = selection.names
        options = _typed_options(self.options, [PROXIES.get(n) for n in _with_inputs(names)])
        notes = (selection.note(),) if selection.note() else ()
        expand = lambda p: os.path.expanduser(str(p)) if p else p  # noqa: E731 - "~/data" from Python, as from a shell
        codes = tuple((p, PROXIES.get(p).code) for p in _with_inputs(names) if not PROXIES.get(p).builtin)
        return replace(
            self, dataset=dataset, proxies=tuple(names), options=options, notes=notes,
            data_dir=expand(self.data_dir), dump=expand(self.dump), plugins=plugins, codes=codes,
        )  # fmt: skip


def _with_inputs(names: Sequence[str]) -> list[str]:
    from .proxies.runner import expand_names

    return list(dict.fromkeys([*names, *expand_names(names)]))


def _typed_options(options: Mapping[str, Any], specs) -> dict[str, Any]:
    """Options parsed by the declaring proxies' :class:`~zcbench.proxies.base.Option`; an option that no
    selected proxy reads is most likely a typo and is refused."""
    declared: dict[str, Any] = {}
    for spec in specs:
        for k, opt in spec.options.items():
            first = declared.setdefault(k, opt)
            if k not in options and not (first.required or opt.required) and first.default != opt.default:
                raise UsageError(  # one name, one value in a run: say which
                    f"option {k!r} has default {first.default!r} for one selected proxy and {opt.default!r} "
                    f"for {spec.name}: give --option {k}=VALUE"
                )
    out = {}
    for k, v in options.items():
        if k not in declared:
            raise UsageError(
                f"option {k!r} is not read by any selected proxy "
                f"(options they read: {', '.join(sorted(declared)) or 'none'})"
            )
        out[k] = declared[k].parse(k, v)
    return out


def parse_option_items(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--option``) → dict; values are JSON where they parse (8, 1e-2, true)."""
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise UsageError(f"--option wants KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        k = k.strip()
        if not k:
            raise UsageError(f"--option wants KEY=VALUE, got {it!r}")
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


@dataclass(frozen=True)
class ArchSelection:
    """Which architectures: ``archs`` (strings or indices, as a user writes them), ``archs_file`` (one per
    line) or ``archs_from`` (those a results file holds for the run's space and dataset — e.g. imported
    published scores), else the dump's, else the whole space; then ``sample`` (seeded with the run seed) and
    ``limit``."""

    archs: tuple[str, ...] | None = None
    archs_file: str | None = None
    sample: int | None = None
    limit: int | None = None
    archs_from: str | None = None

    def validated(self) -> ArchSelection:
        if isinstance(self.archs, (str, int)):  # one architecture, not a sequence of characters
            return replace(self, archs=(self.archs,)).validated()
        if sum(x is not None for x in (self.archs, self.archs_file, self.archs_from)) > 1:
            raise UsageError("give architectures one way: a list, --archs FILE or --archs-from RESULTS")
        if self.sample is not None:
            _positive_int("--sample", self.sample)
        if self.limit is not None:
            _positive_int("--limit", self.limit)
        return self


_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``'i/n'`` (0 <= i < n) → (i, n); None stays None."""
    if text is None or isinstance(text, tuple):
        return text
    m = _SHARD.match(str(text))
    if not m:
        raise UsageError(f"--shard wants i/n (e.g. 0/4), got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or i >= n:
        raise UsageError(f"--shard {text}: i must be in 0..n-1 and n >= 1")
    return i, n


@dataclass(frozen=True)
class Execution:
    """Where and how a run is computed; nothing here changes a stored value.

    ``device``: ``cpu``, ``cuda``, ``cuda:0`` or ``cuda:0,cuda:1``. ``workers``: processes per device
    (0 = in this process; with Ray: actors, 0 = one per CPU/GPU of the cluster). ``timeout``: seconds
    allowed per architecture (needs workers). ``shard``: ``(i, n)`` or ``"i/n"``."""

    device: str = DEFAULT_DEVICE
    workers: int = 0
    executor: str = "local"
    timeout: float | None = None
    shard: tuple[int, int] | str | None = None
    quiet: bool = False

    def validated(self) -> Execution:
        if self.executor not in EXECUTORS:
            raise UsageError(f"unknown executor {self.executor!r} (choose from {', '.join(EXECUTORS)})")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise UsageError(f"--workers must be >= 0, got {self.workers!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError(f"--timeout must be a positive number of seconds, got {self.timeout!r}")
        if self.executor == "local" and self.workers == 0 and self.timeout is not None:
            raise UsageError("--timeout needs worker processes: give --workers 1 or more")
        if self.executor == "ray" and self.device not in ("cpu", "cuda"):
            raise UsageError("--executor ray takes --device cpu or cuda (Ray assigns the GPUs)")
        return replace(self, shard=parse_shard(self.shard))
