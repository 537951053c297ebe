"""Planning a score run before any work: settings checked, data found, dump read, architectures chosen,
identity compared with what the results file already holds, and the work left to do listed.

Everything a user can get wrong fails here, with one line, before a worker starts or a file is
created. The plan is the only input of the engine.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ArchError, StoreError, UsageError
from ..settings import ArchSelection, RunSettings
from ..spaces import Benchmark, Space, get_space
from ..spaces.base import nested_sample
from ..store import RunInfo, run_state
from ..store.schema import identity_conflict


@dataclass
class Plan:
    """The architectures of a run, their ground truth, the run's identity and what is left to compute."""

    settings: RunSettings
    archs: list[str]
    indices: dict[str, int]
    truth: dict[str, tuple[float, float]]
    todo: dict[str, list[str]]  # arch -> stored proxies still missing
    infos: dict[str, RunInfo] = field(default_factory=dict)  # stored proxy -> its run's identity
    retried: int = 0  # failed architectures scheduled again (--retry-failed)

    @property
    def n_tasks(self) -> int:
        return sum(len(v) for v in self.todo.values())

    def info(self, proxy: str) -> RunInfo:
        return self.infos[proxy]


def archs_in_results(path: str | Path, settings: RunSettings) -> list[str]:
    """The architectures a results file holds for the run's (store space, dataset), in the file's order."""
    from ..store import load_frame

    frame = load_frame(path)
    rows = frame[(frame["space"] == settings.store_space) & (frame["dataset"] == settings.dataset)]
    if not len(rows):
        have = sorted({f"{s}/{d}" for s, d in zip(frame["space"], frame["dataset"])})
        raise UsageError(
            f"{path} holds no architectures of {settings.store_space}/{settings.dataset} "
            f"(it has: {', '.join(have) or 'nothing'})"
        )
    return rows["arch"].tolist()


def shard_of(arch: str, n: int) -> int:
    """Which of ``n`` shards (``--shard i/n``) an arch belongs to: by hash, so it depends on nothing but
    the arch and every machine of a sharded run agrees."""
    return int.from_bytes(hashlib.sha256(arch.encode()).digest()[:8], "big") % n


def apply_shard(archs: Sequence[str], shard: tuple[int, int] | None) -> list[str]:
    if shard is None:
        return list(archs)
    i, n = shard
    return [a for a in archs if shard_of(a, n) == i]


def _read_archs_file(space: Space, archs_file: str | Path) -> list[str]:
    try:
        lines = [ln.strip() for ln in Path(archs_file).read_text().splitlines()]
    except (OSError, UnicodeDecodeError) as err:
        why = getattr(err, "strerror", None) or "not a text file"
        raise UsageError(f"{archs_file}: cannot read architecture list ({why})") from None
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise ArchError(f"{archs_file}: no architectures in file")
    return space.parse_many(lines)


def select_archs(space: Space, bench: Benchmark | None, selection: ArchSelection, seed: int = 0) -> list[str]:
    """``archs``/``archs_file``, else the dump's archs, else the whole space; then ``sample`` (seeded)
    and ``limit`` (first N). A sample larger than what it is drawn from is an error naming the size."""
    selection = selection.validated()
    if selection.archs is not None:
        archs = space.parse_many([str(a) for a in selection.archs])
        pool = "the given architectures"
    elif selection.archs_file is not None:
        archs = _read_archs_file(space, selection.archs_file)
        pool = f"the architectures in {selection.archs_file}"
    elif bench is not None:
        archs = [r.arch for r in bench.records]
        pool = f"the architectures of {Path(bench.source).name}"
    elif selection.sample is not None:
        if space.size is not None and selection.sample > space.size:
            raise UsageError(f"--sample {selection.sample} is larger than {space.name}'s {space.size:,} architectures")
        archs = space.sample(selection.sample, seed)
        return archs[: selection.limit] if selection.limit is not None else archs
    else:
        archs = space.enumerate()
        pool = f"{space.name}'s architectures"
    archs = list(dict.fromkeys(archs))
    if selection.sample is not None:
        if selection.sample > len(archs):
            raise UsageError(f"--sample {selection.sample} is larger than the {len(archs):,} of {pool}")
        archs = nested_sample(archs, selection.sample, seed)  # --sample 20 is part of --sample 150
    if selection.limit is not None:
        archs = archs[: selection.limit]
    return archs


def _identity(settings: RunSettings, space: Space, device: str) -> dict[str, RunInfo]:
    """Each stored proxy's run identity (truth, minibatch fingerprint, device, versions)."""
    import torch

    from .. import __version__
    from ..proxies import PROXIES
    from ..store.fingerprints import batch_fingerprint, truth_id

    truth = truth_id(settings.dump, settings.epochs, space.default_epochs)
    versions = {"zcbench": __version__, "torch": str(torch.__version__)}
    data_id = ""
    if settings.needs_images:  # the minibatch every worker will build, built once here to fingerprint it
        data_id = batch_fingerprint(*settings.make_batch(space))
    infos = {}
    for p in settings.stored_proxies():
        infos[p] = RunInfo(
            dump=settings.dump or "",
            truth=truth,
            data_id="" if PROXIES.get(p).data_free else data_id,
            device=device,
            versions=versions,
        )
    return infos


def _truth_notes(archs: Sequence[str], truth: dict[str, tuple[float, float]], settings: RunSettings) -> tuple[str, ...]:
    """What the user must know when chosen architectures get no accuracies from the dump that was read."""
    name, notes = Path(str(settings.dump)).name, []
    no_record = sum(a not in truth for a in archs)
    if no_record:
        notes.append(f"{no_record} of {len(archs)} architectures have no record in {name}: stored without accuracies")
    empty = sum(a in truth and not any(map(math.isfinite, truth[a])) for a in archs)
    if empty:
        notes.append(
            f"{empty} of {len(archs)} architectures have no {settings.dataset} accuracies in {name}: stored without"
        )
    return tuple(notes)


def _stored(
    out: str | Path | None, settings: RunSettings, proxy: str, info: RunInfo, retry_failed: bool, allow_mixed: bool
) -> tuple[set[str], set[str]]:
    """(architectures ``out`` holds for ``proxy``'s run that need no work, failed ones scheduled again). Raises
    StoreError when the stored run is another computation (identity)."""
    from ..proxies import PROXIES

    key = settings.run_key(proxy)
    attrs, rows = run_state(out, key) if out is not None else (None, None)
    if attrs is None:
        return set(), set()
    why = identity_conflict(attrs, info, allow_mixed, hardware=False)  # the GPU's: when workers report it
    if why is not None:
        raise StoreError(f"{out}: run {key.path} cannot be continued: {why}; write to another --out")
    failed = {a for a, r in rows.rows.items() if r.failed}
    spec = PROXIES.get(proxy)  # a failure from reading an option is no result of this key: always scored again
    again = failed if retry_failed else {a for a in failed if spec.option_failure(rows.rows[a].error)}
    return set(rows.rows) - again, failed if retry_failed else set()


def plan_run(
    settings: RunSettings,
    selection: ArchSelection | None = None,
    out: str | Path | None = None,
    *,
    retry_failed: bool = False,
    allow_mixed: bool = False,
    shard: tuple[int, int] | None = None,
    device: str = "cpu",
) -> Plan:
    """Check everything, read the dump, choose the architectures and compare with ``out``'s runs.

    ``retry_failed`` schedules again the architectures stored as failed (their rows are replaced);
    ``allow_mixed`` lets rows of other library versions or device kind join a run (``--ignore-versions``)."""
    settings = settings.validated()
    selection = (selection or ArchSelection()).validated()
    space = get_space(settings.space)
    if selection.archs_from is not None:
        selection = replace(selection, archs=tuple(archs_in_results(selection.archs_from, settings)), archs_from=None)
    if settings.needs_images and not settings.synthetic:
        space.check_data(settings.dataset, settings.data_dir)
    bench = space.load_dump(settings.dump, settings.dataset, settings.epochs) if settings.dump else None
    archs = apply_shard(select_archs(space, bench, selection, settings.seed), shard)
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
    if bench is not None:
        settings = replace(settings, notes=settings.notes + _truth_notes(archs, truth, settings))
    infos = _identity(settings, space, device)
    todo: dict[str, list[str]] = {a: [] for a in archs}
    retried: set[str] = set()
    for proxy, info in infos.items():
        done, failed = _stored(out, settings, proxy, info, retry_failed, allow_mixed)
        retried |= failed & set(archs)
        for a in archs:
            if a not in done:
                todo[a].append(proxy)
    todo = {a: p for a, p in todo.items() if p}
    return Plan(settings, archs, indices, truth, todo, infos, len(retried))


def accuracy(plan: Plan, arch: str) -> tuple[float, float]:
    return plan.truth.get(arch, (math.nan, math.nan))
