"""What one proxy may not change for the others: torch's global state, the random generators, the process.

Every proxy of an architecture starts from the same state — the one right after the network was built —
whatever the proxies before it did:

* :class:`RandomState` (torch's CPU and CUDA generators, numpy's and Python's) is put back before each
  proxy: drawing random numbers is a proxy's right, and its draws must not move the next proxy's.
* :class:`GlobalState` (default dtype and device, grad mode, deterministic algorithms, threads, cuDNN,
  TF32 and matmul precision flags, global module hooks, numpy's error handling, ...) is compared after each
  proxy; a proxy that leaves it changed is a failure with that reason (its value is not stored as valid),
  and the state is put back for the next proxy.
* :func:`exit_guard` turns ``os._exit`` called by a proxy (in the proxy's thread) into :class:`ProxyExit`,
  and :func:`is_proxy_failure` says which ``BaseException``\\ s are the proxy's failure (``SystemExit``,
  ``ProxyExit``, a ``KeyboardInterrupt`` that no Ctrl-C can have caused) rather than the user's Ctrl-C,
  which the engine raises as :class:`StopRequested` and which stops the run.

What cannot be guarded in-process: ``os.abort``, a signal the proxy sends to its own process, a crash in C
code; in worker processes those end the worker, and the engine's fault policy records the architecture as
failed.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.modules.module as _module


class ProxyExit(BaseException):
    """``os._exit(code)`` called by a proxy: a failure of that proxy, not the end of the process."""


class StopRequested(KeyboardInterrupt):
    """A real Ctrl-C or SIGTERM, raised by the engine's signal handler: it stops the run and is never
    recorded as a proxy's failure."""


def mark_stop_handler(handler: Callable) -> Callable:
    """Mark a signal handler that raises :class:`StopRequested` for every real signal: under it, a plain
    ``KeyboardInterrupt`` can only have been raised by a proxy."""
    handler.raises_stop_requested = True  # type: ignore[attr-defined]
    return handler


def is_proxy_failure(err: BaseException) -> bool:
    """Whether ``err``, raised while a proxy ran, is that proxy's failure (else it is re-raised)."""
    if isinstance(err, (Exception, SystemExit, ProxyExit)):
        return True
    if not isinstance(err, KeyboardInterrupt) or isinstance(err, StopRequested):
        return False
    handler = signal.getsignal(signal.SIGINT)  # in a worker SIGINT is ignored: no Ctrl-C raises anything
    return handler is signal.SIG_IGN or bool(getattr(handler, "raises_stop_requested", False))


@contextmanager
def exit_guard() -> Iterator[None]:
    """``os._exit`` raises :class:`ProxyExit` in this thread meanwhile (other threads exit as before)."""
    real, owner = os._exit, threading.get_ident()

    def guarded(code: int) -> None:
        if threading.get_ident() == owner:
            raise ProxyExit(f"called os._exit({code})")
        real(code)

    os._exit = guarded
    try:
        yield
    finally:
        os._exit = real


@dataclass
class RandomState:
    """The generators' states at one moment (after the build: what every proxy starts from)."""

    cpu: torch.Tensor
    cuda: tuple[torch.device, torch.Tensor] | None
    numpy: Any
    python: Any

    @classmethod
    def capture(cls, device: torch.device) -> RandomState:
        cuda = (device, torch.cuda.get_rng_state(device)) if device.type == "cuda" else None
        return cls(torch.get_rng_state(), cuda, np.random.get_state(), random.getstate())

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda[1], self.cuda[0])
        np.random.set_state(self.numpy)
        random.setstate(self.python)


def _hook_dicts() -> list[dict]:
    return [v for k, v in vars(_module).items() if k.startswith("_global_") and isinstance(v, dict)]


def _get_hooks() -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(d) for d in _hook_dicts())


def _set_hooks(saved: tuple[tuple[Any, ...], ...]) -> None:
    for d, keys in zip(_hook_dicts(), saved):
        for k in [k for k in d if k not in keys]:
            del d[k]


def _attr(obj: Any, name: str) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    return (lambda: getattr(obj, name)), (lambda v: setattr(obj, name, v))


def _deterministic() -> tuple[bool, bool]:
    return torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()


_CUDNN, _MATMUL = torch.backends.cudnn, torch.backends.cuda.matmul
# (what, read, write or None when it can only be checked)
SETTINGS: tuple[tuple[str, Callable[[], Any], Callable[[Any], None] | None], ...] = (
    ("default dtype", torch.get_default_dtype, torch.set_default_dtype),
    ("default device", torch.get_default_device, torch.set_default_device),
    ("grad mode", torch.is_grad_enabled, torch.set_grad_enabled),
    ("inference mode", torch.is_inference_mode_enabled, None),
    ("deterministic algorithms", _deterministic, lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1])),
    ("torch threads", torch.get_num_threads, torch.set_num_threads),
    ("anomaly detection", torch.is_anomaly_enabled, torch.set_anomaly_enabled),
    ("float32 matmul precision", torch.get_float32_matmul_precision, torch.set_float32_matmul_precision),
    ("cudnn.enabled", *_attr(_CUDNN, "enabled")),
    ("cudnn.deterministic", *_attr(_CUDNN, "deterministic")),
    ("cudnn.benchmark", *_attr(_CUDNN, "benchmark")),
    ("cudnn.allow_tf32", *_attr(_CUDNN, "allow_tf32")),
    ("cuda.matmul.allow_tf32", *_attr(_MATMUL, "allow_tf32")),
    ("cuda.matmul fp16 reduced precision", *_attr(_MATMUL, "allow_fp16_reduced_precision_reduction")),
    ("cuda.matmul bf16 reduced precision", *_attr(_MATMUL, "allow_bf16_reduced_precision_reduction")),
    ("mkldnn.enabled", *_attr(torch.backends.mkldnn, "enabled")),
    ("global module hooks", _get_hooks, _set_hooks),
    ("torch function modes", torch._C._len_torch_function_stack, None),
    ("numpy error handling", np.geterr, lambda v: np.seterr(**v)),
)


@dataclass(frozen=True)
class GlobalState:
    """The values of :data:`SETTINGS` at one moment."""

    values: tuple[Any, ...]

    @classmethod
    def capture(cls) -> GlobalState:
        with warnings.catch_warnings():  # some flags are deprecated aliases of newer settings
            warnings.simplefilter("ignore")
            return cls(tuple(read() for _, read, _ in SETTINGS))

    def changes(self, now: GlobalState) -> list[str]:
        """What differs in ``now``, in words (``default dtype torch.float32 -> torch.float64``)."""
        return [f"{what} {a} -> {b}" for (what, _, _), a, b in zip(SETTINGS, self.values, now.values) if a != b]

    def restore(self, now: GlobalState) -> None:
        """Put back what differs in ``now`` (what can be put back)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for (_, _, write), a, b in zip(SETTINGS, self.values, now.values):
                if a != b and write is not None:
                    write(a)


def leftover_changes(before: GlobalState) -> str:
    """'' when torch's global state is as ``before``; else the reason of the proxy's failure (and the state
    is put back for the next proxy)."""
    now = GlobalState.capture()
    if now == before:
        return ""
    changed = before.changes(now)
    before.restore(now)
    return "left torch's global state changed: " + "; ".join(changed)
