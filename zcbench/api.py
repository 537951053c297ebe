"""zcbench's Python API, for notebooks and scripts; the CLI is a thin layer over the same calls.

A session (docs/api.md has the full walk-through)::

    import zcbench as zc

    bench = zc.open_space("nb201", dump="NAS-Bench-201-v1_1-096897.pth", dataset="cifar100")
    archs = bench.sample(200, seed=0)
    zc.score("nb201", dataset="cifar100", proxies=["synflow", "jacov", my_proxy], archs=archs,
             dump=bench.dump, data_dir="~/data", out="results.h5")
    df = zc.load_results("results.h5")
    zc.correlate(df, protocol="abdelfattah2021")
    zc.compare(df, "my_proxy", "synflow")

Every function takes a results file path or a results frame (:func:`load_results`) where it reads
results, returns a pandas DataFrame (or a small dataclass) rather than printing, and raises a
:class:`~zcbench.errors.ZcbenchError` subclass with a one-line message for anything a user can get wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import API
from .errors import UsageError
from .settings import DEFAULT_RESULTS, ArchSelection, Execution, RunSettings

if TYPE_CHECKING:
    import pandas as pd
    from torch import nn

    from .engine.run import RunSummary
    from .imports.write import ImportSummary
    from .report.significance import Bootstrap
    from .spaces import Benchmark, Space


def _frame(results) -> pd.DataFrame:
    """A results frame from a path (read with :func:`load_results`) or a frame, with the population proxies
    (az_nas, te_nas) computed per (space, dataset) table from the components it holds."""
    import pandas as pd

    from .report.aggregate import with_aggregates

    if isinstance(results, pd.DataFrame):
        return with_aggregates(results)
    return load_results(results)


# -- spaces and benchmarks ---------------------------------------------------------------------------
@dataclass
class OpenSpace:
    """A space with (optionally) its dump read for one dataset: architectures, accuracies and networks."""

    space: Space
    dataset: str
    dump: str | None = None
    benchmark: Benchmark | None = None

    @property
    def name(self) -> str:
        return self.space.name

    def archs(self) -> list[str]:
        """Every architecture: the dump's, in official order, else the space's enumeration."""
        if self.benchmark is not None:
            return [r.arch for r in self.benchmark.records]
        return self.space.enumerate()

    def sample(self, n: int, seed: int = 0) -> list[str]:
        """``n`` architectures drawn as ``score --sample n --seed seed`` draws them."""
        from .engine.plan import select_archs

        return select_archs(self.space, self.benchmark, ArchSelection(sample=n), seed)

    def parse(self, arch: str) -> str:
        """The canonical string of an architecture as a user writes it (string, index, spec, NASLib tuple)."""
        return self.space.parse(arch)

    def frame(self) -> pd.DataFrame:
        """One row per architecture of the dump: index, arch, val/test accuracy and the dump's extras."""
        import pandas as pd

        if self.benchmark is None:
            raise UsageError(f"{self.name}: no dump was opened (give dump=...)")
        return pd.DataFrame(
            [
                {"index": r.index, "arch": r.arch, "val_accuracy": r.val_accuracy, "test_accuracy": r.test_accuracy}
                | r.extra
                for r in self.benchmark.records
            ]
        )

    def build(self, arch: str, variant: str | None = None, **options) -> nn.Module:
        """The exact network of ``arch`` (PyTorch), at the space's initialisation."""
        if variant:
            options["variant"] = variant
        return self.space.build(self.space.parse(arch), self.dataset, **options)


def open_space(
    name: str, dump: str | Path | None = None, dataset: str | None = None, epochs: int | None = None
) -> OpenSpace:
    """Open a benchmark space, reading its official dump for ``dataset`` (default: the space's first)."""
    from .spaces import get_space

    space = get_space(name)
    dataset = space.check_dataset(dataset or space.datasets[0])
    bench = space.load_dump(dump, dataset, epochs) if dump else None
    return OpenSpace(space, dataset, str(dump) if dump else None, bench)


def list_spaces() -> list[str]:
    """Names of the registered spaces."""
    from .spaces import SPACES

    return SPACES.names()


def list_proxies(pattern: str = "all", plugins: Sequence[str] = ()) -> pd.DataFrame:
    """The registered proxies matching ``pattern``: what each needs, its options, origin and paper."""
    import pandas as pd

    from .proxies import PROXIES
    from .proxies.plugins import load_plugins

    load_plugins(plugins)
    rows = []
    for n in PROXIES.select([pattern]):
        s = PROXIES.get(n)
        rows.append(
            {"proxy": n, "needs": ", ".join(s.needs()), "options": ", ".join(s.options),
             "inputs": ", ".join(s.inputs), "origin": s.origin, "code": s.code, "paper": s.paper}
        )  # fmt: skip
    return pd.DataFrame(rows)


# -- scoring -----------------------------------------------------------------------------------------
def _proxy_names(proxies: Sequence[str | Callable], workers: int, meta: dict) -> tuple[list[str], list[str]]:
    """Names for ``proxies`` (strings as given; callables registered as plugin proxies), and the plugin specs
    worker processes need to register the callables too."""
    from .proxies.plugins import callable_spec, register_callable

    names, specs = [], []
    for p in proxies:
        if isinstance(p, str):
            names.append(p)
            continue
        if not callable(p):
            raise UsageError(f"a proxy is a name or a function fn(net, ctx) -> float, not {type(p).__name__}")
        m = dict(meta)
        name = register_callable(p, **m)
        names.append(name)
        if workers:
            specs.append(callable_spec(p, name, m))
    return names, specs


_SELECTION_FIELDS = {f.name for f in fields(ArchSelection)}


def score(
    space: str | RunSettings,
    proxies: Sequence[str | Callable] = (),
    *,
    out: str | Path = DEFAULT_RESULTS,
    execution: Execution | None = None,
    retry_failed: bool = False,
    ignore_versions: bool = False,
    proxy_meta: dict | None = None,
    **settings: Any,
) -> RunSummary:
    """Score architectures into the results file ``out`` (resuming what it holds) and return the summary.

    ``space`` is a space name (then ``proxies`` and any :class:`~zcbench.settings.RunSettings` field —
    ``dataset``, ``seed``, ``batch_size``, ``dump``, ``data_dir``, ``synthetic``, ``options``, ``variant``, ``oom`` — as
    keywords) or a ready :class:`RunSettings`. Which architectures: the :class:`~zcbench.settings.ArchSelection`
    fields as keywords — ``archs`` (strings or indices; one string is one architecture), ``archs_file``,
    ``archs_from``, ``sample``, ``limit``. ``proxies`` holds names, wildcards, ``"all"``, or plain functions
    ``fn(net, ctx) -> float``, registered under their ``__name__`` (``proxy_meta`` says what they need, as
    :func:`~zcbench.proxies.base.register_proxy` takes it; default: images). ``execution`` says where and how
    (default: in this process, on the CPU)."""
    from .engine import run_scoring

    execution = execution or Execution()
    meta = {"images": True} | dict(proxy_meta or {})
    chosen = {k: settings.pop(k) for k in list(settings) if k in _SELECTION_FIELDS}
    if isinstance(chosen.get("archs"), (str, int)):
        chosen["archs"] = (chosen["archs"],)
    elif chosen.get("archs") is not None:
        chosen["archs"] = tuple(chosen["archs"])
    if isinstance(space, RunSettings):
        if settings:
            raise UsageError("give either a RunSettings or keyword settings, not both")
        base = space
    else:
        unknown = sorted(set(settings) - {f.name for f in fields(RunSettings)})
        if unknown:
            known = sorted({f.name for f in fields(RunSettings)} | _SELECTION_FIELDS)
            raise UsageError(f"unknown score setting {', '.join(unknown)} (known: {', '.join(known)})")
        base = RunSettings(space=space, **settings)
    names, specs = _proxy_names(list(proxies) or list(base.proxies), execution.workers, meta)
    run = replace(base, proxies=tuple(names), plugins=tuple(base.plugins) + tuple(specs))
    return run_scoring(
        run, ArchSelection(**chosen), execution, out, retry_failed=retry_failed, allow_mixed=ignore_versions
    )


# -- results -----------------------------------------------------------------------------------------
def load_results(
    path: str | Path = DEFAULT_RESULTS, seed: int | None = None, batch_size: int | None = None
) -> pd.DataFrame:
    """The results file as one row per (space, dataset, arch): ``space, dataset, index, arch, <proxy>...,
    val_accuracy, test_accuracy`` (imported scores as ``<proxy>@<origin>`` columns). ``az_nas`` and
    ``te_nas`` are columns when their components are stored: ranks within each (space, dataset), so a
    subset of rows needs them recomputed (every function here does that from the components)."""
    from .report.aggregate import with_aggregates
    from .store import load_frame

    return with_aggregates(load_frame(path, seed=seed, batch_size=batch_size))


def status(path: str | Path = DEFAULT_RESULTS) -> pd.DataFrame:
    """Per run: done, failed, missing architectures, the code that computed it, and failure reasons."""
    import pandas as pd

    from .store import coverage

    return pd.DataFrame([c.__dict__ for c in coverage(path)])


def correlate(
    results=DEFAULT_RESULTS,
    protocol: str | None = None,
    *,
    proxies: Sequence[str] | None = None,
    spaces: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    ci: bool | Bootstrap = False,
    source: str | None = None,
    **conventions: Any,
) -> pd.DataFrame:
    """Rank correlation of every proxy with the trained accuracy, per (space, dataset), under ``protocol``
    (a preset name such as ``abdelfattah2021`` or a YAML path; default: signed, all architectures), with
    ``conventions`` overriding its fields (``target="test"``, ``metrics=["spearman"]``, ``vote=True``...).
    ``ci=True`` adds bootstrap intervals (1000 resamples, seed 0; a :class:`Bootstrap` sets them).
    ``source="naslib"`` correlates the imported scores under their bare names. The caption (sign, NaN
    handling, sampling) is in ``df.attrs["caption"]``."""
    from . import report as rep
    from .report.sources import source_frame

    frame = rep.select_rows(source_frame(_frame(results), source), spaces, datasets)
    metrics = conventions.pop("metrics", None)
    proto = rep.load_protocol(protocol, **conventions)
    resampling = ci if not isinstance(ci, bool) else None
    return rep.correlation_table(frame, proto, metrics, proxies, ci=bool(ci), resampling=resampling)


def compare_paper(
    results=DEFAULT_RESULTS,
    paper: str = "abdelfattah2021",
    *,
    target: str | None = None,
    tables: Sequence[str] | None = None,
    source: str | None = None,
    check: float | None = None,
) -> pd.DataFrame:
    """ours | paper | Δ for every published cell of ``paper`` (a preset name or YAML path), each under its
    table's own protocol; cells that cannot be computed say why in ``status``. With ``check=TOL``,
    ``df.attrs["check"]`` holds the verdict of ``zcbench correlate --paper --check TOL`` (a ``PaperCheck``)."""
    from . import report as rep
    from .report.sources import source_frame

    frame = source_frame(_frame(results), source)
    pap = rep.load_paper(paper)
    table = rep.compare_paper(frame, pap, target=target, tables=tables)
    if check is not None:
        table.attrs["check"] = rep.check_paper(table, check, pap.name, "the results")
    return table


def compare(
    results,
    a: str,
    b: str,
    *,
    target: str = "val",
    spaces: Sequence[str] = (),
    datasets: Sequence[str] = (),
    boot: Bootstrap | None = None,
    **bootstrap: Any,
) -> pd.DataFrame:
    """Is ``a``'s correlation really higher than ``b``'s? The paired bootstrap of ρ_a − ρ_b per (space,
    dataset): interval, p-value and a plain-language ``verdict`` column (docs/compare.md). ``boot`` and/or
    keywords naming :class:`~zcbench.report.significance.Bootstrap` fields (``metric``, ``sign``,
    ``score_nan``, ``resamples``, ``seed``, ``confidence``) set the bootstrap; checked as ``zcbench compare``."""
    from .report.comparison import compare_pair
    from .report.significance import Bootstrap

    boot = Bootstrap.of(boot, **bootstrap)
    return compare_pair(_frame(results), a, b, target=target, spaces=spaces, datasets=datasets, boot=boot)


def ties(
    results,
    proxies: Sequence[str] | None = None,
    *,
    target: str = "val",
    spaces: Sequence[str] = (),
    datasets: Sequence[str] = (),
    boot: Bootstrap | None = None,
    **bootstrap: Any,
) -> pd.DataFrame:
    """Per (space, dataset): every proxy against the best one, ``tied_with_best`` where the paired interval
    of their difference contains 0 (bootstrap settings as :func:`compare`)."""
    from .report.comparison import compare_ties
    from .report.significance import Bootstrap

    boot = Bootstrap.of(boot, **bootstrap)
    return compare_ties(_frame(results), proxies or (), target=target, spaces=spaces, datasets=datasets, boot=boot)


def _proxy_columns(frame) -> list[str]:
    from .report import proxy_columns

    return proxy_columns(frame)


# -- predictors and search ---------------------------------------------------------------------------
def predict(results=DEFAULT_RESULTS, config: str | None = None, **settings: Any) -> pd.DataFrame:
    """How well a predictor trained on N architectures ranks M others (docs/predict.md): one row per
    (feature set, model, N) with ``spearman_mean/std`` and ``kendall_mean/std`` over seeded trials.

    ``config`` is a preset name (``suite-zero-xgb``) or a YAML file; ``settings`` are its keys, which
    override it: ``space``, ``dataset``, ``features`` (``encoding``, ``zc``, ``encoding+zc``), ``model``
    (``xgb``, ``rf``, ``gp``, ``ridge``, ``svr``, ``mlp``), ``train`` (sizes, e.g. ``[10, 100]``), ``test``,
    ``trials``, ``seed``, ``proxy`` (columns or wildcards, ``snip@naslib`` included), ``source``
    (``naslib``: imported scores under their bare names), ``params`` (``{model: {setting: value}}``).
    A preset with published values adds ``paper_spearman``, ``paper_std`` and ``delta`` columns."""
    from .predictors import predict_frame, resolve
    from .predictors.run import settings_of

    cfg = resolve(config, settings)
    checked = settings_of(cfg)  # every setting is refused or accepted before the results are read
    where = str(results) if not _is_frame(results) else "the results"
    return predict_frame(_frame(results), cfg, where, checked)


def search(results=DEFAULT_RESULTS, config: str | None = None, **settings: Any):
    """Zero-cost and predictor-assisted search on RESULTS' accuracies (docs/search.md; called as
    ``zcbench.api.search``, since ``zcbench.search`` is the package): a
    :class:`zcbench.search.SearchReport` whose ``table`` has one row per (dataset, variant) with
    ``final_val``, ``final_test``, ``std_test`` and the speed-up, and whose ``curves`` are the mean curves.
    ``config`` is a preset name (``prenas2022-nb201``) or a YAML file; ``settings`` are its keys
    (``space``, ``dataset``, ``proxy``, ``algo``, ``budget``, ``rounds``, ``model``, ``dump`` ...)."""
    from .search import resolve_config, search_results

    cfg = resolve_config(config, settings)
    where = str(results) if not _is_frame(results) else "the results"
    return search_results(_frame(results), cfg, where)


def _is_frame(results) -> bool:
    import pandas as pd

    return isinstance(results, pd.DataFrame)


# -- published scores --------------------------------------------------------------------------------
def import_scores(
    path: str | Path,
    out: str | Path = DEFAULT_RESULTS,
    origin: str | None = None,
    *,
    space: str | None = None,
    dataset: str | None = None,
    nb101: OpenSpace | None = None,
) -> ImportSummary:
    """Store a published score file (NAS-Bench-Suite-Zero JSON or Abdelfattah et al.'s pickle, ``origin``
    detected when not given) in ``out`` as runs of ``<proxy>@<origin>``. ``nb101``: an NB101
    :func:`open_space` with its dump, to resolve NB101 hashes and spellings."""
    from .imports import detect, read_abdelfattah, read_suite_zero
    from .imports.write import store_runs

    origin = origin or detect(path)
    spaces_ = {"nb101": nb101.space} if nb101 is not None else None
    if origin == "naslib":
        runs = read_suite_zero(path, space, spaces=spaces_)
    elif origin == "abdelfattah":
        runs = read_abdelfattah(path, space, dataset, hash_to_arch=nb101.space.parse if nb101 else None)
    else:
        raise UsageError(f"unknown origin {origin!r} (naslib or abdelfattah)")
    return store_runs(runs, out)


def agreement(results=DEFAULT_RESULTS, origin: str = "naslib") -> pd.DataFrame:
    """For every proxy both zcbench and ``origin`` scored on the same architectures: Spearman between them
    and the median ratio of values (after the source's transform)."""
    from .imports.agreement import agreement as agree

    return agree(_frame(results), origin)


__all__ = list(API)
