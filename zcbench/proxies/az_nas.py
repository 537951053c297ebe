"""AZ-NAS (Lee & Ham, CVPR 2024): four per-architecture components and their rank aggregate.

Authors' code: ``cvlab-yonsei/AZ-NAS`` (commit 5e6683a) ``NB201/ZeroShotProxy/compute_az_nas_score.py``
with the settings of ``NB201/tss_general.ipynb``: the network is re-initialised Kaiming-normal fan-in
(``init_model(model, 'kaiming_norm_fanin')``: ReLU gain, zero biases, affine BN (1, 0)); the input is
**Gaussian** N(0, 1) of the data's shape, batch 64 (AZ-NAS is not in the notebook's ``real_input_metrics``:
the paper's "data" are random inputs); train mode. ``extract_cell_features`` returns the stem's output and
every cell's output (NB201: 1 + 17 maps).

* ``az_expressivity``: per feature map, channels × (batch·H·W) centred, Σ = FᵀF/N, eigenvalues s of Σ,
  p = s/Σs, entropy −Σ p log(p + 1e-8); the sum over maps.
* ``az_progressivity``: min over consecutive maps of the entropy increase (the last minus the previous).
* ``az_trainability``: for each pair (previous map → map), from the deepest down, a ±1 Bernoulli(½)
  cotangent g_out of the map, g_in = ∂⟨map, g_out⟩/∂previous (pixel-unshuffled to the map's size after a
  reduction), M = g_inᵀ g_out / (batch·H·W), σ = its largest singular value, score −σ − 1/(σ + 1e-6) + 2;
  the mean over pairs. A pair whose g_in equals g_out exactly (a cell that is the identity) scores −∞.
* ``az_complexity``: FLOPs; the notebook takes them from the NAS-Bench-201 API, which is what the ``flops``
  proxy reproduces (MFLOPs, conv and linear layers, batch 1).

``az_nas`` has no per-architecture value: over the architectures being compared, Σ_c log(rank_c / n)
of the four components (higher is better; ``zcbench.aggregates``), computed by the tables from the
stored components.

Where the code differs from the paper, zcbench follows the code: random Gaussian inputs rather than
images; FLOPs from the benchmark's counter; a component that the code turns into −∞ (NaN entropy of a
constant map, an identity cell's trainability) is stored here as NaN with that reason and ranked last by
the aggregate, as −∞ is in the authors' ranking. Draws (re-initialisation, inputs, then the Bernoulli
cotangents from the deepest pair down) come from one generator seeded with the run's seed, in the
authors' order, so their function gives the same values after ``torch.manual_seed(seed)``.

One deliberate difference: eigenvalues of Σ are clamped at 0. When a map has fewer rows (batch·H·W) than
channels, Σ is rank-deficient and its zero eigenvalues come out as ± rounding noise; the authors' code
then takes the log of a negative p + 1e-8 (NaN, hence −∞) or not, depending on the noise. With full-rank
Σ (NAS-Bench-201 at batch 64) no eigenvalue is negative and the values are the authors'.

Other spaces: the "cells" are the stem (the ``stem`` module, NB101's first layer) and every outermost
cell/block module in forward order (NB201 cells and ResNet blocks, NB101 modules, DARTS cells, TransNAS
encoder blocks); a module called more than once in a forward (the jigsaw encoder, once per tile) gives
the output of its first call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import autograd, nn

from ..aggregates import AZ_NAS_INPUTS
from ._reinit import kaiming_normal_
from .base import Option, ProxyContext, register_proxy
from .flops import count_flops
from .utils import randn, seeded_generator

# outermost modules of these types are the "cells" whose outputs AZ-NAS reads (see the module docstring)
CELL_TYPES = frozenset({"InferCell", "ResNetBasicblock", "SamsungSearchCell", "Cell", "Module101", "MicroCell"})
AZ_OPTIONS = {
    "az_batch": Option(int, None, minimum=1, doc="Gaussian inputs per forward (default: the run's batch size)"),
}
RANKED_LAST = "AZ-NAS counts it as -inf (ranked last)"


def az_batch(ctx: ProxyContext) -> int:
    """The authors' batch is the data loader's (64); here ``az_batch``, else the run's batch size, else 64."""
    return int(ctx.options.get("az_batch") or ctx.batch_size or 64)


def feature_modules(net: nn.Module) -> list[nn.Module]:
    """The stem and the outermost cell modules (their outputs are read in the order the forward runs them)."""
    stem = next((m for name, m in net.named_modules() if name.rsplit(".", 1)[-1] == "stem"), None)
    layers = getattr(net, "layers", None)
    if stem is None and isinstance(layers, nn.ModuleList) and len(layers):
        stem = layers[0]  # NB101: the stem ConvBnRelu is the first layer
    cells: list[nn.Module] = []
    inside: set[int] = set()
    for m in net.modules():
        if id(m) in inside:
            continue
        if type(m).__name__ in CELL_TYPES:
            cells.append(m)
            inside.update(id(c) for c in m.modules())
    if not cells:
        raise ValueError("az_nas: no cell modules found (stem and cells are what AZ-NAS reads)")
    return ([stem] if stem is not None else []) + cells


class _AllCaptured(Exception):
    """Raised by the last hook: the rest of the forward (head, decoders) is not needed."""


def _capture(modules: list[nn.Module]) -> tuple[list, dict[int, torch.Tensor]]:
    """Forward hooks keeping each module's first output, in the order they fire (a dict keeps insertion
    order); once every module has given one, the forward is stopped."""
    outs: dict[int, torch.Tensor] = {}

    def hook_for(i: int):
        def hook(module, inp, out):
            if i not in outs and isinstance(out, torch.Tensor):
                outs[i] = out
                if len(outs) == len(modules):
                    raise _AllCaptured

        return hook

    return [m.register_forward_hook(hook_for(i)) for i, m in enumerate(modules)], outs


def features(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The stem's and every cell's output for input ``x``, in forward order (what ``extract_cell_features``
    returns); the forward stops after the last of them."""
    mods = feature_modules(net)
    handles, outs = _capture(mods)
    try:
        net(x)
    except _AllCaptured:
        pass
    finally:
        for h in handles:
            h.remove()
    return list(outs.values())


def entropy(feat: torch.Tensor) -> torch.Tensor:
    """Spectral entropy of the channel covariance of one feature map (the authors' expressivity term)."""
    f = feat.detach()
    c = f.size(1)
    f = f.movedim(1, -1).contiguous().view(-1, c)
    f = f - f.mean(dim=0, keepdim=True)
    sigma = torch.mm(f.transpose(1, 0), f) / f.size(0)
    s = torch.linalg.eigvalsh(sigma).clamp_min(0)  # rank-deficient Σ: its zero eigenvalues are ± rounding noise
    p = s / s.sum()
    return ((-p) * torch.log(p + 1e-8)).sum()


def _pair_sigma(f_in: torch.Tensor, f_out: torch.Tensor, g_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(largest singular value of gᵀ_in g_out / N, whether g_in equals g_out) for one pair, on the device."""
    g_in = autograd.grad(outputs=f_out, inputs=f_in, grad_outputs=g_out, retain_graph=False)[0]
    same = (g_in == g_out).all() if g_in.shape == g_out.shape else torch.zeros((), dtype=torch.bool)
    if g_out.dim() == 4 and (g_out.size(2) != g_in.size(2) or g_out.size(3) != g_in.size(3)):
        g_in = nn.functional.pixel_unshuffle(g_in, int(g_in.size(2) / g_out.size(2)))
    co, ci = g_out.size(1), g_in.size(1)
    g_out = g_out.movedim(1, -1).contiguous().view(-1, co)
    g_in = g_in.movedim(1, -1).contiguous().view(-1, ci)
    mat = torch.mm(g_in.transpose(1, 0), g_out) / g_out.size(0)
    if mat.size(0) < mat.size(1):
        mat = mat.transpose(0, 1)
    return torch.linalg.svdvals(mat).max(), same.to(g_out.device)


@dataclass
class AzPass:
    """The per-map entropies and (when asked) the per-pair σ and identity flags, read from the device once."""

    entropies: list[float]
    sigmas: list[float] | None = None  # deepest pair first, as the authors' loop
    identity: list[bool] | None = None

    def expressivity(self) -> float:
        value = float(np.sum(np.array(self.entropies)))
        if np.isnan(value):
            raise FloatingPointError(f"az_expressivity: NaN entropy (a constant feature map); {RANKED_LAST}")
        return value

    def progressivity(self) -> float:
        e = np.array(self.entropies)
        if e.size < 2:
            raise ValueError("az_progressivity needs at least two feature maps")
        value = float(np.min(e[1:] - e[:-1]))
        if np.isnan(value):
            raise FloatingPointError(f"az_progressivity: NaN entropy (a constant feature map); {RANKED_LAST}")
        return value

    def trainability(self) -> float:
        if not self.sigmas:
            raise ValueError("az_trainability needs at least two feature maps")
        if any(self.identity or ()):
            raise FloatingPointError(f"az_trainability: a cell passes the gradient unchanged; {RANKED_LAST}")
        value = float(np.mean([-s - 1 / (s + 1e-6) + 2 for s in self.sigmas]))
        if np.isnan(value):
            raise FloatingPointError(f"az_trainability: NaN; {RANKED_LAST}")
        return value


def az_pass(net: nn.Module, ctx: ProxyContext, trainability: bool = True) -> AzPass:
    """Re-initialise, forward Gaussian inputs, and compute every component the authors' function returns."""
    g = seeded_generator(ctx.seed)
    kaiming_normal_(net, "fan_in", g)
    net.train()
    # the input requires grad so that a stem-less network's first map (the input itself) has a gradient
    x = randn((az_batch(ctx), *ctx.input_shape), g, ctx.device).requires_grad_(True)
    feats = features(net, x)
    ent = torch.stack([entropy(f) for f in feats])
    if not trainability:
        return AzPass(ent.tolist())
    sig, same = [], []
    for i in reversed(range(1, len(feats))):
        f_out = feats[i]
        half = torch.full(f_out.shape, 0.5, dtype=f_out.dtype)
        g_out = ((torch.bernoulli(half, generator=g) - 0.5) * 2).to(f_out.device)
        s, eq = _pair_sigma(feats[i - 1], f_out, g_out)
        sig.append(s)
        same.append(eq)
    if not sig:
        return AzPass(ent.tolist(), [], [])
    return AzPass(ent.tolist(), torch.stack(sig).tolist(), torch.stack(same).tolist())


@register_proxy(
    "az_expressivity", images=False, uses_batch_size=True, options=AZ_OPTIONS, paper="Lee & Ham, CVPR 2024 (AZ-NAS)"
)
def az_expressivity(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ over stem and cell outputs of the spectral entropy of the channel covariance (Gaussian inputs)."""
    return az_pass(net, ctx, trainability=False).expressivity()


@register_proxy(
    "az_progressivity", images=False, uses_batch_size=True, options=AZ_OPTIONS, paper="Lee & Ham, CVPR 2024 (AZ-NAS)"
)
def az_progressivity(net: nn.Module, ctx: ProxyContext) -> float:
    """Smallest increase of that entropy from one cell's output to the next."""
    return az_pass(net, ctx, trainability=False).progressivity()


@register_proxy(
    "az_trainability",
    images=False,
    grad=True,
    uses_batch_size=True,
    options=AZ_OPTIONS,
    paper="Lee & Ham, CVPR 2024 (AZ-NAS)",
)
def az_trainability(net: nn.Module, ctx: ProxyContext) -> float:
    """Mean over cells of −σ − 1/σ + 2, σ the top singular value of the cell's random-cotangent Jacobian map."""
    return az_pass(net, ctx, trainability=True).trainability()


@register_proxy("az_complexity", images=False, paper="Lee & Ham, CVPR 2024 (AZ-NAS; FLOPs as NAS-Bench-201's)")
def az_complexity(net: nn.Module, ctx: ProxyContext) -> float:
    """MFLOPs of a batch-1 forward (the ``flops`` proxy's count, which the authors read from the benchmark)."""
    return count_flops(net, ctx.input_shape, ctx.device) / 1e6


@register_proxy(
    "az_nas",
    images=False,
    grad=True,
    inputs=AZ_NAS_INPUTS,
    paper="Lee & Ham, CVPR 2024 (AZ-NAS: Σ log-rank of 4 components over the set compared)",
)
def az_nas(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ log(rank/n) of expressivity, progressivity, trainability, complexity over the architectures compared."""
    raise ValueError("az_nas has no per-architecture score; the tables compute it from its four components")
