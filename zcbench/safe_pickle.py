"""Unpickling through an allow-list: benchmark dumps are data, never code.

The official NB201/NATS/TransNAS files are pickles (raw, bz2-compressed, or inside torch.save). A
pickle can name any importable callable, so loading one blindly runs whatever it names. Here only
plain containers, numpy scalars/arrays/dtypes and torch's tensor-rebuild functions are allowed;
any other global stops the load with a :class:`DumpError` naming it.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from .errors import DumpError

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("builtins", "set"),
        ("_codecs", "encode"),  # how protocol-2 pickles spell bytes (numpy arrays in torch.save)
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch", "Size"),
        ("torch", "device"),
    }
)
# numpy >= 1.25 pickles dtypes as numpy.dtypes.<Name>DType classes.
_ALLOWED_MODULE_PREFIXES = ("numpy.dtypes",)


class SafeUnpickler(pickle.Unpickler):
    """A pickle.Unpickler whose ``find_class`` only resolves allow-listed globals."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS or module in _ALLOWED_MODULE_PREFIXES:
            return super().find_class(module, name)
        if module == "torch" and name.endswith("Storage"):  # legacy storage types in old torch.save files
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle disallowed global {module}.{name}")


def safe_load(fileobj: IO[bytes], source: str = "pickle") -> Any:
    """Unpickle ``fileobj`` through the allow-list; errors become one-line :class:`DumpError`."""
    try:
        return SafeUnpickler(fileobj, encoding="latin1").load()
    except pickle.UnpicklingError as err:
        raise DumpError(f"{source}: {err}") from None
    except (EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError, KeyError, OSError) as err:
        raise DumpError(f"{source}: truncated or corrupt pickle ({type(err).__name__}: {err})") from None


def safe_loads(data: bytes, source: str = "pickle") -> Any:
    return safe_load(io.BytesIO(data), source)


# A module-like object for torch.load(pickle_module=...): torch subclasses its Unpickler and
# routes every global through our find_class (after mapping its own storage types).
_pickle_module = SimpleNamespace(
    Unpickler=SafeUnpickler,
    load=lambda f, **kw: SafeUnpickler(f, **kw).load(),
    loads=lambda b, **kw: SafeUnpickler(io.BytesIO(b), **kw).load(),
    UnpicklingError=pickle.UnpicklingError,
    __name__="zcbench.safe_pickle",
)


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load`` of a benchmark file with the allow-listed unpickler (works for the zip and
    the legacy torch.save formats, and under torch >= 2.6 where the official APIs fail)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise DumpError(f"{path}: no such file")
    try:
        return torch.load(path, map_location="cpu", pickle_module=_pickle_module, weights_only=False)
    except DumpError:
        raise
    except pickle.UnpicklingError as err:
        raise DumpError(f"{path}: {err}") from None
    except Exception as err:  # noqa: BLE001 - torch raises many types for a truncated/corrupt file
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DumpError(f"{path}: not a readable torch.save file ({type(err).__name__}: {msg})") from None
