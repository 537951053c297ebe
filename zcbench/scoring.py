"""What a ``score`` run is: which architectures, which proxies, which settings → rows in the store.

This module plans a run (architectures, ground truth, cached work) and scores one architecture
deterministically; ``zcbench.engine`` distributes the planned work over worker processes. A
score depends only on (space, dataset, proxy, seed, batch size, dataload, data source, options,
arch): the network's initial weights come from a seed derived from the run seed and the arch.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .errors import ArchError, UsageError
from .proxies import PROXIES, ProxyContext
from .proxies.runner import compute_scores
from .spaces import Benchmark, Space, get_space
from .store import ResultStore, Row, RunInfo, RunKey


def arch_seed(seed: int, arch: str) -> int:
    """A 31-bit seed for one architecture's weights, independent of order and workers."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{arch}".encode()).digest()[:4], "big") & 0x7FFFFFFF


@dataclass
class RunSettings:
    """Everything a run's scores depend on, besides the architecture."""

    space: str
    dataset: str
    proxies: list[str]
    seed: int = 0
    batch_size: int = 64
    dataload: str = "random"
    dataload_info: int = 1
    synthetic: bool = False
    data_dir: str | None = None
    device: str = "cpu"
    dump: str | None = None
    epochs: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None  # network variant (nb301: naslib, swap); stored as space "nb301[naslib]"

    @property
    def store_space(self) -> str:
        """The space name in the store: a non-default variant is a different network, so its scores
        form their own (space, dataset) table."""
        return f"{self.space}[{self.variant}]" if self.variant else self.space

    @property
    def needs_images(self) -> bool:
        return any(PROXIES.get(p).images for p in self.proxies)

    def run_key(self, proxy: str) -> RunKey:
        """The store key of ``proxy``'s run: only the options this proxy reads are part of it, so a
        proxy's cached scores are reused when unrelated options change."""
        spec = PROXIES.get(proxy)
        opts = {k: self.options[k] for k in spec.option_keys if k in self.options}
        if "batch_size" in spec.option_keys and spec.data_free:
            opts.setdefault("batch_size", self.batch_size)
        return RunKey(
            space=self.store_space,
            dataset=self.dataset,
            proxy=proxy,
            seed=self.seed,
            batch_size=self.batch_size,
            dataload=self.dataload,
            dataload_info=self.dataload_info,
            data_source="synthetic" if self.synthetic else "images",
            data_free=spec.data_free,
            options=json.dumps(opts, sort_keys=True) if opts else "",
        )

    def check_options(self) -> None:
        """An option that no selected proxy reads is most likely a typo: refuse it."""
        known = {k for p in self.proxies for k in PROXIES.get(p).option_keys} - {"batch_size"}
        unknown = sorted(set(self.options) - known)
        if unknown:
            raise UsageError(
                f"option {unknown[0]!r} is not read by any selected proxy "
                f"(options they read: {', '.join(sorted(known)) or 'none'})"
            )

    def run_info(self) -> RunInfo:
        return RunInfo(dump=self.dump or "", device=self.device)


@dataclass
class Plan:
    """The architectures of a run, their ground truth, and what is left to compute."""

    settings: RunSettings
    archs: list[str]
    indices: dict[str, int]
    truth: dict[str, tuple[float, float]]
    todo: dict[str, list[str]]  # arch -> proxies still missing

    @property
    def n_tasks(self) -> int:
        return sum(len(v) for v in self.todo.values())


def select_archs(
    space: Space,
    bench: Benchmark | None,
    archs_file: str | Path | None = None,
    sample: int | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> list[str]:
    """``--archs FILE`` (one per line), else the dump's archs, else the whole space; then
    ``--sample N`` (seeded) and ``--limit N`` (first N)."""
    if archs_file is not None:
        try:
            lines = [ln.strip() for ln in Path(archs_file).read_text().splitlines()]
        except OSError as err:
            raise UsageError(f"{archs_file}: cannot read architecture list ({err.strerror})") from None
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        if not lines:
            raise ArchError(f"{archs_file}: no architectures in file")
        archs = space.parse_many(lines)
    elif bench is not None:
        archs = [r.arch for r in bench.records]
    elif sample is not None:
        return space.sample(sample, seed)
    else:
        archs = space.enumerate()
    archs = list(dict.fromkeys(archs))
    if sample is not None and sample < len(archs):
        archs = random.Random(seed).sample(archs, sample)
    if limit is not None:
        archs = archs[:limit]
    return archs


def plan_run(
    settings: RunSettings, store: ResultStore | None, archs_file=None, sample=None, limit=None, resume: bool = True
) -> Plan:
    space = get_space(settings.space)
    space.check_dataset(settings.dataset)
    space.check_variant(settings.variant)
    settings.check_options()
    if settings.needs_images:
        from .data import check_available

        check_available(space, settings.dataset, settings.data_dir, settings.synthetic)
    bench = space.load_dump(settings.dump, settings.dataset, settings.epochs) if settings.dump else None
    archs = select_archs(space, bench, archs_file, sample, limit, settings.seed)
    truth: dict[str, tuple[float, float]] = {}
    indices: dict[str, int] = {}
    if bench is not None:
        for r in bench.records:
            truth[r.arch] = (r.val_accuracy, r.test_accuracy)
            indices[r.arch] = r.index
    for a in archs:
        if a not in indices:
            i = space.index_of(a)
            indices[a] = -1 if i is None else int(i)
    todo: dict[str, list[str]] = {a: [] for a in archs}
    for proxy in settings.proxies:
        done = store.done(settings.run_key(proxy)) if (store is not None and resume) else set()
        for a in archs:
            if a not in done:
                todo[a].append(proxy)
    todo = {a: p for a, p in todo.items() if p}
    return Plan(settings, archs, indices, truth, todo)


class ArchScorer:
    """Scores architectures of one run in one process: the minibatch is built once."""

    def __init__(self, settings: RunSettings) -> None:
        from .data import make_batch

        self.settings = settings
        self.space = get_space(settings.space)
        self.spec = self.space.input_spec(settings.dataset)
        self.device = torch.device(settings.device)
        if self.device.type == "cuda":  # as the reference scripts: reproducible cuDNN kernels
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        self.inputs = self.targets = None
        if settings.needs_images:
            x, y = make_batch(
                self.space,
                settings.dataset,
                settings.batch_size,
                settings.seed,
                data_dir=settings.data_dir,
                synthetic=settings.synthetic,
                dataload=settings.dataload,
                dataload_info=settings.dataload_info,
            )
            self.inputs, self.targets = x.to(self.device), y.to(self.device)

    def score(self, arch: str, proxies: Sequence[str]) -> dict[str, tuple[float, float, str]]:
        """{proxy: (score, seconds, error)} for one architecture."""
        aseed = arch_seed(self.settings.seed, arch)

        def make_net() -> torch.nn.Module:
            torch.manual_seed(aseed)
            if self.settings.variant:
                return self.space.build(arch, self.settings.dataset, variant=self.settings.variant)
            return self.space.build(arch, self.settings.dataset)

        ctx = ProxyContext(
            inputs=self.inputs,
            targets=self.targets,
            input_shape=tuple(self.spec.shape),
            num_classes=self.spec.num_classes,
            loss_fn=self.space.loss_fn(self.settings.dataset),
            task=self.spec.task,
            seed=aseed,
            device=self.device,
            options={"batch_size": self.settings.batch_size} | dict(self.settings.options),
        )
        results = compute_scores(list(proxies), make_net, ctx)
        return {p: (r.score, r.seconds, r.error) for p, r in results.items()}


def rows_for(plan: Plan, arch: str, results: dict[str, tuple[float, float, str]]) -> dict[str, Row]:
    """Store rows of one scored architecture, one per proxy."""
    val, test = plan.truth.get(arch, (math.nan, math.nan))
    idx = plan.indices.get(arch, -1)
    return {p: Row(idx, arch, s, sec, val, test, err) for p, (s, sec, err) in results.items()}


def run_serial(plan: Plan, store: ResultStore, progress=None) -> int:
    """Score the plan in this process, one architecture at a time (the engine's 0-worker path)."""
    scorer = ArchScorer(plan.settings)
    info = plan.settings.run_info()
    n = 0
    for arch, proxies in plan.todo.items():
        rows = rows_for(plan, arch, scorer.score(arch, proxies))
        for p, row in rows.items():
            store.append(plan.settings.run_key(p), info, [row])
        n += 1
        if progress is not None:
            progress(1, sum(1 for r in rows.values() if r.error))
    return n
