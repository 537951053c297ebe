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
    return apply_gaussian_(net, gaussian_draws(net, generator))


def gaussian_draws(net: nn.Module, generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """The N(0, 1) weights of one :func:`gaussian_init_`, drawn layer by layer in ``modules()`` order (the
    same draws as one tensor per layer) into one host buffer that reaches the net's device in one copy
    (asynchronous from pinned memory on a GPU, so a re-initialisation never waits for the device)."""
    weights = [m.weight for m in prunable_layers(net)]
    if not weights:
        return []
    dtype, device = weights[0].dtype, weights[0].device
    if any(w.dtype != dtype or w.device != device for w in weights):  # mixed: one buffer per layer
        return [to_device(nn.init.normal_(host_empty(w.shape, w.dtype, w.device), generator=generator), w.device)
                for w in weights]  # fmt: skip
    flat = host_empty((sum(w.numel() for w in weights),), dtype, device)
    views, start = [], 0
    for w in weights:
        views.append(nn.init.normal_(flat[start : start + w.numel()].view(w.shape), generator=generator))
        start += w.numel()
    moved = to_device(flat, device)
    if moved is flat:
        return views
    out, start = [], 0
    for w in weights:
        out.append(moved[start : start + w.numel()].view(w.shape))
        start += w.numel()
    return out


@torch.no_grad()
def apply_gaussian_(net: nn.Module, draws: Sequence[torch.Tensor]) -> nn.Module:
    """Write one :func:`gaussian_draws` into ``net`` (weights), zero biases, set norm layers to 1/0."""
    it = iter(draws)
    for m in net.modules():
        if isinstance(m, PRUNABLE):
            m.weight.copy_(next(it))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            if m.weight is None:
                continue
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def host_empty(shape: Sequence[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An empty CPU tensor for values bound for ``device``: pinned when that is a GPU (asynchronous copy)."""
    return torch.empty(tuple(shape), dtype=dtype, pin_memory=device.type == "cuda")


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` on ``device`` without blocking the host (from pinned memory; the caching host allocator keeps
    the buffer alive until the copy is done). ``t`` itself when it is there already."""
    device = torch.device(device)
    if t.device == device or (device.type == "cpu" and t.device.type == "cpu"):
        return t
    return t.to(device, non_blocking=device.type == "cuda" and t.is_pinned())


def to_host(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``tensors`` on the CPU with one device-to-host copy (one host sync) for all of them, not one each.
    CPU tensors are returned as they are; values and shapes are unchanged."""
    if all(t.device.type == "cpu" for t in tensors):
        return list(tensors)
    if len({t.dtype for t in tensors}) != 1:
        return [t.cpu() for t in tensors]
    flat = torch.cat([t.reshape(-1) for t in tensors]).cpu()
    out, start = [], 0
    for t in tensors:
        out.append(flat[start : start + t.numel()].view(t.shape))
        start += t.numel()
    return out


def seeded_generator(seed: int) -> torch.Generator:
    """A CPU generator for a proxy's own random draws (re-inits, Gaussian inputs)."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def randn(shape: Sequence[int], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """N(0,1) tensor drawn on the CPU (device-independent values), then moved (without blocking the host)."""
    device = torch.device(device)
    return to_device(
        torch.randn(tuple(shape), generator=generator, out=host_empty(shape, torch.get_default_dtype(), device)), device
    )


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
