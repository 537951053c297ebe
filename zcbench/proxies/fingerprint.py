"""What a plugin proxy's code fingerprint covers: the user's own Python files that the proxy runs.

A fingerprint is part of a plugin proxy's run key, so a run is reused only for the same code. It hashes

* a plugin file, or the module file of a function (``--plugin mypkg.proxies``, ``zc.score(proxies=[fn])``,
  a module that registers proxies when imported), and
* every module those files import — directly, in a function body, or through each other — whose file lies
  outside the Python installation (standard library, site-packages) and outside zcbench: a ``helper.py``
  next to the plugin, a package of the user's project. A dependency counts under its module name, so the
  same files elsewhere (another machine of a Ray cluster) give the same fingerprint.

Not hashed: installed packages (torch's version is part of every run's identity), data files the code
reads, environment variables, values computed at import time. A function with no file behind it (a notebook
cell) is hashed by its source and the plain values (numbers, strings, tuples and lists of them) of the
module globals it reads. ``register_proxy(..., version="2")`` replaces all of this by what its author
declares, for code whose results depend on more than these files.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any


def sha12(data: bytes) -> str:
    """The first 12 hex digits of SHA-256: the code fingerprints of plugin proxies."""
    return hashlib.sha256(data).hexdigest()[:12]


@cache
def _installed_roots() -> tuple[str, ...]:
    """Folders whose modules are not the user's own: the standard library, site-packages, zcbench."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots |= {p for p in sys.path if "site-packages" in p or "dist-packages" in p}
    roots.add(str(Path(__file__).resolve().parents[1]))  # the zcbench package
    return tuple(str(Path(r).resolve()) + "/" for r in roots if r)


def is_users(path: Path) -> bool:
    """A Python source file outside the installation and zcbench."""
    return path.suffix == ".py" and not str(path).startswith(_installed_roots())


def _imported_names(path: Path, package: str) -> list[str]:
    """Every module name ``path``'s import statements may load (a dotted name's parents included)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            except (ImportError, ValueError):
                continue
            names += [base, *(f"{base}.{a.name}" for a in node.names if a.name != "*")]
    out: list[str] = []
    for name in names:
        parts = name.split(".")
        out += [".".join(parts[: i + 1]) for i in range(len(parts))]
    return list(dict.fromkeys(n for n in out if n))


def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` if it is loaded or can be found without importing anything."""
    mod = sys.modules.get(name)
    if mod is not None:
        file = getattr(mod, "__file__", None)
    else:
        parent = name.rpartition(".")[0]
        if parent and parent not in sys.modules:  # finding it would import the parent
            return None
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            return None
        file = spec.origin if spec is not None and spec.has_location else None
    return Path(file).resolve() if file else None


def local_imports(root: Path, package: str = "") -> dict[str, Path]:
    """{module name: file} of the user's own modules that ``root`` imports, followed through their imports."""
    found: dict[str, Path] = {}
    seen = {root.resolve()}
    queue = [(root.resolve(), package)]
    while queue:
        path, pkg = queue.pop()
        for name in _imported_names(path, pkg):
            file = _module_file(name)
            if file is None or file in seen or not is_users(file) or not file.is_file():
                continue
            seen.add(file)
            found[name] = file
            queue.append((file, name if file.name == "__init__.py" else name.rpartition(".")[0]))
    return dict(sorted(found.items()))


def files_fingerprint(root_bytes: bytes, deps: Mapping[str, Path]) -> str:
    """The fingerprint of a file and its dependencies; a file importing nothing of the user's is the hash
    of its bytes alone (as zcbench has always keyed plugin files)."""
    if not deps:
        return sha12(root_bytes)
    h = hashlib.sha256(root_bytes)
    for name, file in deps.items():
        try:
            data = file.read_bytes()
        except OSError:
            data = b"<unreadable>"
        h.update(b"\0" + name.encode() + b"\0" + data)
    return h.hexdigest()[:12]


def file_fingerprint(path: Path, package: str = "") -> tuple[str, dict[str, Path]]:
    """(fingerprint, dependencies) of a plugin or module file as it is on disk now."""
    deps = local_imports(path, package)
    return files_fingerprint(path.read_bytes(), deps), deps


def _plain(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return True
    return isinstance(value, (tuple, list)) and depth < 2 and all(_plain(v, depth + 1) for v in value)


def _global_names(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _global_names(const)
    return names


def _source_and_globals(fn: Callable) -> bytes:
    try:
        src = inspect.getsource(fn).encode()
    except (OSError, TypeError):
        src = getattr(getattr(fn, "__code__", None), "co_code", b"")
    code, env = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    plain = {n: repr(env[n]) for n in sorted(_global_names(code)) if n in env and _plain(env[n])} if code else {}
    return src + b"\0" + json.dumps(plain, sort_keys=True).encode()


def function_fingerprint(fn: Callable, meta: Mapping[str, Any] | None = None) -> str:
    """The fingerprint of a function's code: its module file and the user's modules it imports, else (no
    file) its source and the plain globals it reads; plus ``meta`` (what it declared it needs, its options)."""
    mod = sys.modules.get(getattr(fn, "__module__", "") or "")
    file = getattr(mod, "__file__", None)
    if file and str(file).endswith(".py") and Path(file).is_file():
        code = file_fingerprint(Path(file), getattr(mod, "__package__", "") or "")[0].encode()
    else:
        code = _source_and_globals(fn)
    extra = json.dumps(_describe(meta), sort_keys=True, default=repr).encode() if meta else b""
    return sha12(code + b"\0" + extra)


def _describe(value: Any) -> Any:
    """``meta`` as JSON-able data: Option objects by their fields (not their help text), types by name."""
    if isinstance(value, Mapping):
        return {str(k): _describe(v) for k, v in value.items() if k not in ("description", "paper")}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _describe(getattr(value, f.name)) for f in fields(value) if f.name != "doc"}
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return [_describe(v) for v in value]
    return value
