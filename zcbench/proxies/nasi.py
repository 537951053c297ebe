"""``nasi``: the NTK trace norm of NASI (Shu, Cai, Dai, Ooi & Low, "NASI: Label- and Data-agnostic Neural
Architecture Search at Initialization", ICLR 2022).

NASI's own code was released as the paper's supplementary material, which is not reachable from here. Its
first author's public implementation of the same score is ``shuyao95/HNAS`` (Shu et al., NeurIPS 2022,
"Unifying and Boosting Gradient-Based Training-Free NAS", commit 970789c), ``foresight/pruners/measures/
ntk_trace.py``, run by ``nasbench/nasbench2_pred.py`` on NAS-Bench-201 (batch 64, one random batch, seed
42, PyTorch's default init, BN on, train mode); zcbench follows it:

one forward of the minibatch, then the backward of Σ_i f(x_i)[y_i] (each sample's logit of its own
label); per-sample gradients of every ``Conv2d`` and ``Linear`` weight and bias are reconstructed from
the layer's input and output gradient (``autograd_hacks.compute_grad1``, ``loss_type='sum'``: sample i's
term of the batch gradient); NTK = G Gᵀ and score = sqrt(Σ eigenvalues / N) = sqrt(trace / N), where
trace = Σ_i ‖g_i‖². zcbench sums the squared norms layer by layer instead of forming G and
eigen-decomposing G Gᵀ (equal up to float rounding). Higher is better.

Where the code differs from the paper: the paper approximates ‖Θ‖_tr by the squared norm of the
gradient of the mean minibatch loss (its eq. 12) and searches with a penalty μ·max(0, ‖Θ‖ − ν) on a
Gumbel-softmax supernet; the authors' per-architecture code computes the trace of the NTK of the label
logit exactly, as above. A layer called more than once in a forward (the jigsaw encoder) contributes
the sum of its calls' terms (the reference's hooks support one call). Soft (2-D) targets are reduced to
labels by argmax, as ``epe_nas`` does for TransNAS-Bench's classification tasks; per-pixel outputs have
no label logit (NaN with the reason).
"""

from __future__ import annotations

import math

import torch
from torch import autograd, nn

from .base import ProxyContext, register_proxy
from .utils import HookRecorder, require_targets, split_ranges

_LAYERS = ("Linear", "Conv2d")  # autograd_hacks' supported layers, matched by class name as there
_CHUNK = 1 << 24  # per-sample gradient elements materialised at once


class LayerCalls(HookRecorder):
    """Every call of a Conv2d/Linear during a forward: (module, its input, its output)."""

    def __init__(self, net: nn.Module) -> None:
        self.modules = [m for m in net.modules() if type(m).__name__ in _LAYERS]
        self.calls: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []

    def _hook(self, module, inp, out) -> None:
        if isinstance(out, torch.Tensor) and out.requires_grad:
            self.calls.append((module, inp[0].detach(), out))

    def _hooked(self) -> list:
        return [(m, self._hook) for m in self.modules]


def _sq(x: torch.Tensor) -> torch.Tensor:
    return (x * x).flatten(1).sum(1)


def layer_trace(m: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Σ_i ‖per-sample gradient of this call's weight and bias‖² (``compute_grad1``'s grad1, squared)."""
    n = a.shape[0]
    if isinstance(m, nn.Linear):
        a2, b2 = a.reshape(n, -1, a.shape[-1]), b.reshape(n, -1, b.shape[-1])
        w = torch.einsum("nti,ntj->nij", b2, a2) if a2.shape[1] > 1 else torch.einsum("ni,nj->nij", b2[:, 0], a2[:, 0])
        total = _sq(w).sum()
        return total + (_sq(b2.sum(1)).sum() if m.bias is not None else 0)
    cols = nn.functional.unfold(a, m.kernel_size, dilation=m.dilation, padding=m.padding, stride=m.stride)
    bb = b.reshape(n, -1, cols.shape[-1])
    gb = bb.reshape(n, m.groups, bb.shape[1] // m.groups, -1)
    ga = cols.reshape(n, m.groups, cols.shape[1] // m.groups, -1)
    step = max(1, _CHUNK // max(1, m.weight.numel()))
    total = torch.zeros((), dtype=a.dtype, device=a.device)
    for st in range(0, n, step):
        total = total + _sq(torch.einsum("icjk,iclk->icjl", gb[st : st + step], ga[st : st + step])).sum()
    return total + (_sq(bb.sum(2)).sum() if m.bias is not None else 0)


def class_labels(targets: torch.Tensor) -> torch.Tensor:
    t = targets.detach()
    if t.dim() == 2 and t.is_floating_point():
        t = torch.argmax(t, dim=1)
    if t.dim() != 1 or t.is_floating_point():
        raise ValueError("nasi needs class labels (one integer per sample) and class logits")
    return t


@register_proxy("nasi", labels=True, grad=True, head=True, paper="Shu et al., ICLR 2022 (NASI; NTK trace norm)")
def nasi(net: nn.Module, ctx: ProxyContext) -> float:
    """sqrt(trace(NTK)/N) of the label logit's per-sample gradients over Conv2d/Linear parameters."""
    x, t = require_targets(ctx)
    labels = class_labels(t)
    net.train()
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for st, en in split_ranges(len(x), ctx.split_data):
        rec = LayerCalls(net)
        with rec:
            out = net(x[st:en])
        if out.dim() != 2:
            raise ValueError("nasi needs class logits (one row of scores per sample)")
        picked = out[torch.arange(en - st, device=out.device), labels[st:en]].sum()
        outs = [o for _, _, o in rec.calls]
        grads = autograd.grad(picked, outs, allow_unused=True) if outs else ()
        for (m, a, _), b in zip(rec.calls, grads):
            if b is not None:
                total = total + layer_trace(m, a, b.detach()).double()
        del rec, out, picked, outs, grads
    return math.sqrt(total.item() / len(x))
