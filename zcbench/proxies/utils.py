"""Helpers shared by the proxy modules: the layers the Samsung measures sum over, their summation,
minibatch splitting, Gaussian re-initialisation and the forward-hook recorders' base.

Keeping these in one place is what makes the shared passes in ``shared_passes.py`` give *bit-identical*
scores to the one-proxy-at-a-time functions: both finish with the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

PRUNABLE = (nn.Conv2d, nn.Linear)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def prunable_layers(net: nn.Module) -> list[nn.Module]:
    """Conv2d and Linear modules in ``net.modules()`` order (Samsung's ``get_layer_metric_array``)."""
    return [m for m in net.modules() if isinstance(m, PRUNABLE)]


def sum_arr(arrays: Iterable[torch.Tensor]) -> float:
    """Σ over layers of Σ of each per-layer array, accumulated exactly as Samsung/NASLib ``sum_arr``
    (a running tensor in the arrays' dtype, so float32 for float32 nets)."""
    total: torch.Tensor | float = 0.0
    for a in arrays:
        total = total + torch.sum(a)
    return float(total.item()) if isinstance(total, torch.Tensor) else float(total)


def split_ranges(n: int, pieces: int) -> list[tuple[int, int]]:
    """``[(st, en)]`` of the reference code's split loop: ``sp*N//pieces`` to ``(sp+1)*N//pieces``."""
    pieces = max(1, min(int(pieces), n)) if n > 0 else 1
    return [(sp * n // pieces, (sp + 1) * n // pieces) for sp in range(pieces)]


def require_inputs(ctx) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The minibatch on ``ctx.device``; a clear error when the proxy was given none."""
    if ctx.inputs is None:
        raise ValueError("this proxy needs input images but the context has none")
    x = ctx.inputs.to(ctx.device)
    t = ctx.targets.to(ctx.device) if ctx.targets is not None else None
    return x, t


def require_targets(ctx) -> tuple[torch.Tensor, torch.Tensor]:
    x, t = require_inputs(ctx)
    if t is None:
        raise ValueError("this proxy needs targets (labels) but the context has none")
    return x, t


def bypass_batchnorm(net: nn.Module) -> nn.Module:
    """Make every BatchNorm an identity in place (Samsung ``get_prunable_copy(bn=False)``)."""
    for name, child in list(net.named_children()):
        if isinstance(child, _BN):
            setattr(net, name, nn.Identity())
        else:
            bypass_batchnorm(child)
    return net


@torch.no_grad()
def gaussian_init_(net: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Zen-NAS / SWAP ``network_weight_gaussian_init``: Conv2d and Linear weights N(0, 1) and biases 0,
    BatchNorm2d/GroupNorm weight 1 and bias 0 (affine-free norms are skipped), in ``modules()`` order.
    Draws are made on the CPU from ``generator`` so that a seed gives the same weights on any device."""
    for m in net.modules():
        if isinstance(m, PRUNABLE):
            w = torch.empty(m.weight.shape, dtype=m.weight.dtype)
            nn.init.normal_(w, generator=generator)
            m.weight.copy_(w)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            if m.weight is None:
                continue
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU generator for a proxy's own random draws (re-inits, Gaussian inputs)."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def randn(shape: Sequence[int], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """N(0,1) tensor drawn on the CPU (device-independent values), then moved."""
    return torch.randn(tuple(shape), generator=generator).to(device)


class HookRecorder:
    """Base of the recorders (fisher, nwot) that are context managers installing one forward hook per
    module: subclasses say which in ``_hooked``."""

    _handles: list | tuple = ()

    def _hooked(self) -> list[tuple[nn.Module, Callable]]:
        raise NotImplementedError

    def __enter__(self):
        self._handles = [m.register_forward_hook(h) for m, h in self._hooked()]
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def relu_modules(net: nn.Module) -> list[nn.Module]:
    """Modules whose type name contains ``ReLU`` (NASWOT/NASLib hook rule)."""
    return [m for m in net.modules() if "ReLU" in type(m).__name__]


def params_in_thousands(net: nn.Module) -> float:
    """SWAP's ``count_parameters``: Σ numel of parameters not named ``auxiliary``, / 1e3."""
    return sum(p.numel() for n, p in net.named_parameters() if "auxiliary" not in n) / 1e3


def loss_weight_grads(net: nn.Module, ctx) -> list[torch.Tensor | None]:
    """Samsung's loss pass for grad_norm/snip/plain: ``zero_grad``, then for each of ``ctx.split_data``
    pieces forward, ``ctx.loss_fn`` and ``backward`` (gradients accumulate over pieces); returns the
    Conv2d/Linear weight gradients in layer order (None where a layer got no gradient)."""
    x, t = require_targets(ctx)
    net.train()
    net.zero_grad()
    for st, en in split_ranges(len(x), ctx.split_data):
        loss = ctx.loss_fn(net(x[st:en]), t[st:en])
        loss.backward()
    return [m.weight.grad for m in prunable_layers(net)]
