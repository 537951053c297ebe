"""Proxy registry and the context a proxy is computed in.

A proxy is a plain function ``fn(net, ctx) -> float`` registered with :func:`register_proxy`,
its needs and its paper declared beside it. It receives a freshly built network at the seeded
default initialisation (it may modify it freely) and a :class:`ProxyContext` holding the
minibatch and task. A proxy never knows about files, stores or workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..registry import Registry


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
    # inputs stores no per-architecture value itself; ``compute_scores`` computes its inputs instead.
    inputs: tuple[str, ...] = ()
    # The ``ctx.options`` keys the proxy reads: they become part of its run's cache key (and an option
    # no selected proxy reads is an error). ``batch_size`` here makes a data-free proxy batch-dependent.
    option_keys: tuple[str, ...] = ()

    @property
    def data_free(self) -> bool:
        return not self.images


PROXIES: Registry[ProxySpec] = Registry("proxy")


def register_proxy(
    name: str,
    *,
    images: bool = True,
    labels: bool = False,
    grad: bool = False,
    float64: bool = False,
    head: bool = False,
    paper: str = "",
    description: str = "",
    inputs: tuple[str, ...] = (),
    option_keys: tuple[str, ...] = (),
) -> Callable:
    """Decorator registering ``fn(net, ctx) -> float`` as proxy ``name``."""

    def deco(fn: Callable) -> Callable:
        doc = description or (fn.__doc__ or "").strip().splitlines()[0] if (description or fn.__doc__) else ""
        PROXIES.add(
            name,
            ProxySpec(name, fn, images, labels, grad, float64, head, paper, doc, tuple(inputs), tuple(option_keys)),
        )
        return fn

    return deco


@dataclass
class ProxyContext:
    """Everything a proxy may use besides the network.

    ``inputs``/``targets`` are the architecture's minibatch (the same for every proxy of an
    architecture); ``input_shape`` is the per-sample shape so data-free proxies can make their own
    inputs; ``options`` carries per-proxy settings (e.g. ``swap_repeats``, ``reg_swap_mu``).
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
    split_data: int = 1  # >1 after a CUDA OOM: the minibatch is processed in this many pieces


def get_proxy(name: str) -> ProxySpec:
    return PROXIES.get(name)


def select_proxies(patterns) -> list[str]:
    """Names for ``--proxy`` values: names, ``all`` or wildcards."""
    return PROXIES.select(patterns)
