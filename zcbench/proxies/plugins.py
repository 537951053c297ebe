"""Plugin proxies: files, modules and installed packages that register proxies with ``@register_proxy``.

Three ways in, one treatment afterwards (they are scored, cached, listed and compared like built-ins):

* ``--plugin my_proxies.py`` (repeatable) or ``$ZCBENCH_PLUGINS`` (os.pathsep-separated): a Python file
  or an importable module name, imported once per process. Worker processes and Ray actors import the
  same plugins before they score (``RunSettings.plugins`` travels with the run).
* the entry-point group ``zcbench.proxies``: every installed distribution that declares one is
  imported when the proxy registry is first used, so ``pip install someones-proxy`` makes it appear.
* ``zcbench.api.score(proxies=[fn])``: a plain callable, registered under ``fn.__name__`` (a function
  already decorated with ``@register_proxy`` is used as registered).

A module that registers proxies when imported some other way (``import my_proxy`` in a notebook) gets
origin ``module:<name>`` and the hash of each function's source, so it is never taken for a built-in.

Every plugin proxy carries a code fingerprint that is part of its cache key: the ``version=`` it
declares, else the hash of its file (a callable's module file) together with the user's own modules it
imports — ``fingerprint.py`` says exactly what is covered —, or the distribution's version for an entry
point. Editing those files therefore starts a new run. A plugin may not
shadow a registered name. A plugin that fails to import is a one-line error (PluginError); an entry
point that fails to import is reported as one warning line (by the main process, not once per worker)
and skipped, so a broken package cannot stop every zcbench command.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import PluginError, UsageError
from .base import PROXIES, register_proxy
from .fingerprint import files_fingerprint, function_fingerprint, local_imports

ENTRY_POINT_GROUP = "zcbench.proxies"
ENV = "ZCBENCH_PLUGINS"
_entry_points_done = False


@dataclass
class _Loaded:
    """A plugin as imported in this process: what to compare with the files on disk before reusing it."""

    code: str  # fingerprint of ``root`` and ``deps`` when they were imported
    names: list[str]  # proxies it registered
    root: Path | None  # the plugin file, or the plugin module's file
    deps: dict[str, Path]  # the user's own modules it imports: {module name: file}
    modules: tuple[str, ...] = ()  # module names to forget before importing it again

    def unchanged(self) -> bool:
        if self.root is None:
            return True
        try:
            return files_fingerprint(self.root.read_bytes(), self.deps) == self.code
        except OSError:
            return False


_loaded: dict[str, _Loaded] = {}  # spec -> the plugin as loaded


def env_plugins() -> tuple[str, ...]:
    """Plugins named in ``$ZCBENCH_PLUGINS``."""
    return tuple(p for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip())


def _adopt(before: set[str], origin: str, code: str) -> list[str]:
    """Stamp the proxies registered since ``before`` with their origin and code fingerprint (a declared
    ``version=`` wins over the loader's fingerprint)."""

    new = [n for n in PROXIES.names() if n not in before]
    for n in new:
        spec = PROXIES.get(n)
        PROXIES.replace(n, replace(spec, origin=origin, code=f"v{spec.version}" if spec.version else code))
    return new


def _forget(names: Iterable[str]) -> None:

    for n in names:
        PROXIES.remove(n)


def _exec_file(path: Path, key: str) -> None:
    name = f"zcbench_plugin_{hashlib.sha1(key.encode()).hexdigest()[:10]}"
    folder = str(path.resolve().parent)
    if folder not in sys.path:  # a plugin file may import its sibling modules, as a script can
        sys.path.append(folder)
    mod_spec = importlib.util.spec_from_file_location(name, path)
    if mod_spec is None or mod_spec.loader is None:
        raise PluginError(f"plugin {path}: not a Python file")
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[name] = module
    mod_spec.loader.exec_module(module)


def _import(spec: str, path: Path, is_file: bool, key: str) -> _Loaded:
    """Import the plugin and fingerprint what it ran (its file and the user's modules it imported)."""
    if is_file:
        _exec_file(path, key)
        root, package, modules = path.resolve(), "", ()
    else:
        module = importlib.import_module(spec)
        src = getattr(module, "__file__", None)
        root = Path(src).resolve() if src and Path(src).is_file() else None
        package, modules = getattr(module, "__package__", "") or "", (spec,)
    if root is None:
        return _Loaded("", [], None, {}, modules)
    deps = local_imports(root, package)
    return _Loaded(files_fingerprint(root.read_bytes(), deps), [], root, deps, modules + tuple(deps))


def load_plugin(spec: str) -> list[str]:
    """Import one plugin (file path or module name); returns the proxy names it registered."""

    spec = str(spec).strip()
    path = Path(spec).expanduser()
    is_file = spec.endswith(".py") or path.is_file()
    if is_file:
        if not path.is_file():
            raise PluginError(f"plugin {spec}: no such file")
        try:
            path.read_bytes()
        except OSError as err:
            raise PluginError(f"plugin {spec}: cannot read ({err.strerror})") from None
    key = str(path.resolve()) if is_file else spec
    if key in _loaded:
        if _loaded[key].unchanged():
            return _loaded[key].names
        old = _loaded.pop(key)  # edited since it was loaded: load the new code, and its edited imports
        _forget(old.names)
        for m in old.modules:
            sys.modules.pop(m, None)
    before = set(PROXIES.names())
    try:
        loaded = _import(spec, path, is_file, key)
    except PluginError:
        _forget(set(PROXIES.names()) - before)
        raise
    except UsageError as err:
        _forget(set(PROXIES.names()) - before)
        raise PluginError(f"plugin {spec}: {err}") from None
    except Exception as err:  # noqa: BLE001 - any failure of foreign code is one line for the user
        _forget(set(PROXIES.names()) - before)
        raise PluginError(f"plugin {spec} failed to load: {type(err).__name__}: {err}".splitlines()[0]) from None
    loaded.names = _adopt(before, f"plugin:{path.name if is_file else spec}", loaded.code)
    if not loaded.names:
        raise PluginError(f"plugin {spec} registered no proxy (decorate a function with @register_proxy)")
    _loaded[key] = loaded
    return loaded.names


def load_plugins(specs: Iterable[str] = ()) -> list[str]:
    """Load ``specs`` plus ``$ZCBENCH_PLUGINS``; returns every proxy name they registered."""
    names: list[str] = []
    for spec in (*env_plugins(), *specs):
        if spec.startswith("callable:"):
            names += load_callable(spec)
        else:
            names += load_plugin(spec)
    return names


def _warn(msg: str) -> None:
    """One warning line on stderr, from the main process only: spawned workers import the same entry
    points, and one broken package must not print the same line once per worker."""
    import multiprocessing

    if multiprocessing.parent_process() is None:
        print(f"zcbench: warning: {msg}", file=sys.stderr)


def load_entry_points(warn: Callable[[str], None] | None = None) -> list[str]:
    """Import every ``zcbench.proxies`` entry point once (called when the registry is first built)."""
    global _entry_points_done
    if _entry_points_done:
        return []
    _entry_points_done = True
    from importlib.metadata import entry_points

    warn = warn or _warn
    names: list[str] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        before = set(PROXIES.names())
        dist = getattr(ep, "dist", None)
        label = f"{dist.name}=={dist.version}" if dist is not None else ep.value
        try:
            ep.load()
        except Exception as err:  # noqa: BLE001 - a broken package must not stop zcbench
            _forget(set(PROXIES.names()) - before)
            warn(f"plugin entry point {ep.name} ({label}) failed to load: {type(err).__name__}: {err}".splitlines()[0])
            continue
        names += _adopt(before, f"entry-point:{label.split('==')[0]}", label)
    return names


# -- plain callables (the Python API) ---------------------------------------------------------------
def register_callable(fn: Callable, name: str | None = None, **meta) -> str:
    """Register a plain ``fn(net, ctx) -> float`` as a proxy (``name`` defaults to ``fn.__name__``; ``meta``
    as :func:`~zcbench.proxies.base.register_proxy` takes it). Re-registering edited code replaces it."""

    for registered, spec in PROXIES.items():  # a function already registered with @register_proxy: itself
        if spec.fn is fn and name in (None, registered):
            return registered
    name = name or fn.__name__
    code = function_fingerprint(fn, meta)
    if name in PROXIES:
        spec = PROXIES.get(name)
        if spec.origin.startswith("callable:") and spec.code == code:
            return name
        if not spec.origin.startswith("callable:"):
            raise UsageError(f"proxy {name!r} is already registered ({spec.origin}); pass another name")
        PROXIES.remove(name)  # the notebook cell was edited: the new code replaces the old
    before = set(PROXIES.names())
    register_proxy(name, **meta)(fn)
    _adopt(before, f"callable:{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', name)}", code)
    return name


def callable_spec(fn: Callable, name: str, meta: dict) -> str:
    """What a worker process needs to register ``fn`` exactly as here: ``callable:<json>``. Only a function
    importable by name (defined at module level of an importable module) can travel."""
    module, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or "<" in qual:
        raise UsageError(
            f"proxy function {name!r} lives in {module or 'no module'}; worker processes can only import functions "
            "defined at module level of an importable module (or score with workers=0)"
        )
    return "callable:" + json.dumps({"module": module, "qualname": qual, "name": name, "meta": meta}, sort_keys=True)


def load_callable(spec: str) -> list[str]:
    """Import the function a :func:`callable_spec` names and register it (the worker side)."""
    d = json.loads(spec.split(":", 1)[1])
    try:
        obj = importlib.import_module(d["module"])
        for part in d["qualname"].split("."):
            obj = getattr(obj, part)
    except Exception as err:  # noqa: BLE001
        raise PluginError(
            f"proxy function {d['module']}:{d['qualname']} cannot be imported here: {type(err).__name__}: {err}"
        ) from None
    return [register_callable(obj, d["name"], **d["meta"])]
