"""The options several commands share, each declared once (in the manner of pip's ``cmdoptions``).

A factory returns the click decorator; a command passes what differs (``required``, ``default``, ``help``)
and, for a repeatable filter, the parameter name (``space("spaces", multiple=True)``). What an option
*means* — its flag, type and the help a user reads — is written here and nowhere else.
"""

from __future__ import annotations

from typing import Any

import click

from ..settings import DEFAULT_BATCH_SIZE, DEFAULT_DEVICE, DEFAULT_RESULTS, DEFAULT_SEED, TABLE_FORMATS


def _option(flag: str, dest: str | None, kw: dict[str, Any], single: str, many: str = "") -> Any:
    """``click.option(flag[, dest], **kw)`` with the shared help: ``many`` for a repeatable option."""
    kw.setdefault("help", many if kw.get("multiple") and many else single)
    return click.option(flag, *([dest] if dest else []), **kw)


def space(dest: str | None = None, **kw: Any) -> Any:
    """``--space``: the space a command works on, or with ``multiple=True`` a filter of a results file."""
    return _option("--space", dest, kw, "Benchmark space (see `zcbench spaces`).", "Only these spaces (repeatable).")


def dataset(dest: str | None = None, **kw: Any) -> Any:
    """``--dataset``: the dataset (task) of the space, or with ``multiple=True`` a filter."""
    return _option(
        "--dataset", dest, kw, "Dataset or task (default: the space's first).", "Only these datasets (repeatable)."
    )


def proxy(dest: str = "proxies", **kw: Any) -> Any:
    """``--proxy``: names, wildcards ('syn*') or 'all'; always repeatable."""
    kw.setdefault("multiple", True)
    return _option("--proxy", dest, kw, "Proxy name, wildcard ('syn*') or 'all'; repeatable.")


def plugin(**kw: Any) -> Any:
    """``--plugin``: plugin files or modules whose proxies a command may use."""
    kw.setdefault("multiple", True)
    return _option(
        "--plugin",
        "plugins",
        kw,
        "Python file or module registering proxies with @register_proxy; repeatable [$ZCBENCH_PLUGINS].",
    )


def config(presets: str, example: str) -> Any:
    """``--config``: a settings file or the name of a preset shipped in ``configs/<presets>``."""
    return click.option(
        "--config",
        "config_path",
        default=None,
        metavar="FILE|NAME",
        help=f"Settings file, or a preset from configs/{presets} ({example}); options given here override it.",
    )


def table_format(choices: tuple[str, ...] = TABLE_FORMATS, default: str = "table") -> Any:
    """``--format``: how a table is written (text, markdown, CSV, JSON, LaTeX)."""
    return click.option("--format", "fmt", type=click.Choice(choices), default=default, show_default=True)


def digits(default: int = 3) -> Any:
    """``--digits``: decimals shown in text tables."""
    return click.option(
        "--digits", type=click.IntRange(min=0), default=default, show_default=True, help="Decimals shown."
    )


def seed(**kw: Any) -> Any:
    """``--seed``: an integer the library checks (the API takes the same value with the same message)."""
    kw.setdefault("default", DEFAULT_SEED)
    kw.setdefault("show_default", kw["default"] is not None)
    return _option("--seed", None, {"type": int, **kw}, "Seeds weights and minibatch.")


def batch_size(**kw: Any) -> Any:
    """``--batch-size``: the minibatch the proxies see (checked by the library, as from the API)."""
    return _option(
        "--batch-size",
        None,
        {"type": int, "default": DEFAULT_BATCH_SIZE, "show_default": True, **kw},
        "Images in the minibatch.",
    )


def device(**kw: Any) -> Any:
    """``--device``: where networks are built and scored."""
    return _option(
        "--device",
        None,
        {"default": DEFAULT_DEVICE, "show_default": True, **kw},
        "cpu, cuda:0, cuda:0,cuda:1 or cuda (all GPUs).",
    )


def data_dir(**kw: Any) -> Any:
    """``--data-dir``: the image data root ($ZCBENCH_DATA)."""
    return _option(
        "--data-dir", None, {"type": click.Path(), "envvar": "ZCBENCH_DATA", **kw}, "Image data root [$ZCBENCH_DATA]."
    )


def proxy_option() -> Any:
    """``--option KEY=VALUE``: a proxy option (``zcbench proxies`` lists what each proxy reads)."""
    return click.option("--option", "options", multiple=True, help="Proxy option KEY=VALUE (e.g. swap_repeats=8).")


def results_file() -> Any:
    """``--out``: the HDF5 results file a command writes."""
    return click.option(
        "--out", default=DEFAULT_RESULTS, show_default=True, type=click.Path(), help="HDF5 results file."
    )


def results_argument(**kw: Any) -> Any:
    """``RESULTS``: the HDF5 results file a command reads (default results/zcbench.h5)."""
    return click.argument("results", default=DEFAULT_RESULTS, required=False, type=click.Path(), **kw)


def source() -> Any:
    """``--source``: use imported published scores under their bare names."""
    return click.option(
        "--source",
        default=None,
        metavar="ORIGIN",
        help="Use the scores imported from this source (naslib, abdelfattah) under their bare names instead of ours.",
    )


def ignore_versions(help: str = "Let rows of another zcbench/torch version or device kind join a cached run.") -> Any:
    """``--ignore-versions``: allow other library versions or device kinds to join a run."""
    return click.option("--ignore-versions", is_flag=True, help=help)
