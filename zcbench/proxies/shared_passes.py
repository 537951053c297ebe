"""Shared passes: several proxies of one architecture from one network and one set of passes, with
results bit-identical to computing each proxy alone (``runner.compute_one``).

Why each sharing is exact (train mode throughout, so BN uses batch statistics and a forward's values do
not depend on what ran before; CPU kernels are deterministic):

* **backprop group** — one forward of the minibatch with x requiring grad, ReLU-input hooks (nwot) and
  Conv2d/Linear-output gradient hooks (fisher) installed, then
  1. ∂Σy/∂x = ``autograd.grad(y, x, ones)``: the Jacobian jacov and epe_nas each compute with their own
     ``y.backward(ones)`` (same forward, same cotangent);
  2. ∂L/∂W = ``autograd.grad(L, W)`` — with ``create_graph`` when grasp is wanted: the gradient
     grad_norm, snip, plain read after ``loss.backward()``, and the fisher hooks see the same (a, ∂L/∂a);
     it is also grasp's pass-1 g *and* its pass-2 ∂L/∂W (the reference's two forwards are identical);
  3. (grasp) H g = ``autograd.grad(Σ g·∂L/∂W, W)``, what grasp's ``z.backward()`` leaves in ``W.grad``.
  The fisher hooks only count during step 2.
* **swap group** — swap and reg_swap average the same SWAP counts; reg_swap multiplies by its factor.
* **az group** — AZ-NAS's expressivity, progressivity and trainability come from one re-initialisation,
  one Gaussian forward and (for trainability) its backward passes, as the authors' function returns all
  three; its complexity is FLOPs, counted once for ``az_complexity`` and ``flops`` (the count does not
  depend on the weights and draws nothing, so it may run first).
* **per-sample group** — GradSign and KNAS both take each sample alone through the network and
  differentiate its loss (``_per_sample.sample_gradients``): one loop over the minibatch feeds both
  (KNAS reads the first ``knas_samples`` of the same gradients).

Not shared, because no pass gives another's values exactly: TE-NAS's ``ntk_cond`` differentiates each sample's
logits through one batched forward (BatchNorm couples the samples) after a Kaiming fan-out re-initialisation,
where KNAS and GradSign take each sample alone at the default initialisation; ``nasi`` back-propagates the
label logits once at the default initialisation; ``linear_regions`` re-initialises fan-in and feeds Gaussian
inputs without gradients.

Only used when the minibatch is not split (``split_data == 1``); after an OOM, or if a pass fails, the
runner falls back to the one-proxy functions, which split. Final formulas are the proxy modules' own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import autograd, nn

from . import az_nas as _az
from . import epe_nas as _epe
from . import fisher as _fisher
from . import flops as _flops
from . import grad_norm as _gn
from . import gradsign as _gradsign
from . import grasp as _grasp
from . import jacov as _jacov
from . import knas as _knas
from . import nwot as _nwot
from . import plain as _plain
from . import snip as _snip
from . import swap as _swap
from ._per_sample import sample_gradients
from .base import ProxyContext
from .utils import prunable_layers, require_inputs

Outcome = dict[str, Callable[[], float]]  # name -> finisher (may raise; the runner records why)


LOSS_MEMBERS = frozenset({"grad_norm", "snip", "plain", "fisher", "grasp"})
JACOBIAN_MEMBERS = frozenset({"jacov", "epe_nas"})


def backprop_group(names: set[str], net: nn.Module, ctx: ProxyContext) -> Outcome:
    """One forward + the backward passes the requested members need; returns their finishers."""
    x, t = require_inputs(ctx)
    want_jac, want_loss = bool(names & JACOBIAN_MEMBERS), bool(names & LOSS_MEMBERS)
    if want_loss and t is None:
        raise ValueError("this proxy needs targets (labels) but the context has none")
    net.train()
    layers = prunable_layers(net)
    nw = _nwot.NwotRecorder(net, len(x), x.device) if "nwot" in names else None
    fr = _fisher.FisherRecorder(layers) if "fisher" in names else None
    if fr is not None:
        fr.active = False
    xg = x.detach().clone().requires_grad_(want_jac)
    with nw if nw is not None else nullcontext(), fr if fr is not None else nullcontext():
        y = net(xg)
    jac = width = None
    if want_jac:
        jac = autograd.grad(y, xg, torch.ones_like(y), retain_graph=want_loss)[0].detach()
        width = int(y.shape[-1])
    grads, hg = _weight_grads(y, t, layers, fr, ctx, "grasp" in names) if want_loss else ([], [])
    del y
    finishers: Outcome = {
        "grad_norm": lambda: _gn.grad_norm_from(layers, grads),
        "snip": lambda: _snip.snip_from(layers, grads),
        "plain": lambda: _plain.plain_from(layers, grads),
        "fisher": lambda: fr.score(),
        "grasp": lambda: _grasp.grasp_from(layers, hg),
        "jacov": lambda: _jacov.jacov_from(jac),
        "epe_nas": lambda: _epe.epe_nas_from(jac, t, width),
        "nwot": lambda: nw.score(),
    }
    return {n: f for n, f in finishers.items() if n in names}


def _weight_grads(y, t, layers, fr, ctx: ProxyContext, want_grasp: bool) -> tuple[list, list]:
    """∂L/∂W (the fisher hooks counting meanwhile) and, for grasp, H g; both detached, in layer order."""
    weights = [m.weight for m in layers]
    loss = ctx.loss_fn(y, t)
    if fr is not None:
        fr.active = True
    grad_f = autograd.grad(loss, weights, create_graph=want_grasp, allow_unused=True)
    if fr is not None:
        fr.active = False
    grads = [g.detach() if g is not None else None for g in grad_f]
    hg: list[torch.Tensor | None] = []
    if want_grasp:
        z = _grasp.grasp_z(grads, grad_f)
        hg = [h.detach() if h is not None else None for h in autograd.grad(z, weights, allow_unused=True)]
    return grads, hg


def swap_group(names: set[str], net: nn.Module, ctx: ProxyContext) -> Outcome:
    """SWAP counts once; swap is their mean, reg_swap the mean times its factor."""
    out: Outcome = {}
    factor_err: Exception | None = None
    factor = 1.0
    if "reg_swap" in names:
        try:
            factor = _swap.reg_factor(net, ctx)  # before the re-inits (parameter count only)
        except Exception as err:  # noqa: BLE001 - recorded for reg_swap alone
            factor_err = err
    counts = _swap.swap_counts(net, ctx)
    if "swap" in names:
        out["swap"] = lambda: _swap.swap_from(counts)
    if "reg_swap" in names:

        def reg() -> float:
            if factor_err is not None:
                raise factor_err
            return _swap.swap_from(counts) * factor

        out["reg_swap"] = reg
    return out


def az_group(names: set[str], net: nn.Module, ctx: ProxyContext) -> Outcome:
    """FLOPs once (flops, az_complexity), then one AZ-NAS pass for the other components asked."""
    out: Outcome = {}
    counted = sorted(names & {"flops", "az_complexity"})
    if counted:
        mflops = _flops.count_flops(net, ctx.input_shape, ctx.device) / 1e6
        for n in counted:
            out[n] = lambda v=mflops: v
    if names & {"az_expressivity", "az_progressivity", "az_trainability"}:
        res = _az.az_pass(net, ctx, trainability="az_trainability" in names)
        out["az_expressivity"] = res.expressivity
        out["az_progressivity"] = res.progressivity
        out["az_trainability"] = res.trainability
    return {n: f for n, f in out.items() if n in names}


def per_sample_group(names: set[str], net: nn.Module, ctx: ProxyContext) -> Outcome:
    """One loop of single-sample loss gradients: GradSign's sign sums over all samples, KNAS's rows over
    its first ``knas_samples``."""
    x, _ = require_inputs(ctx)
    n_knas = _knas.knas_samples(ctx, len(x))
    sums = _gradsign.GradSignSums(net)
    rows = _knas.KnasGradients(net, n_knas)
    for i, grads in enumerate(sample_gradients(net, ctx, max(len(x), n_knas))):
        sums.add(grads)
        if i < n_knas:
            rows.add(grads)
    return {"gradsign": sums.score, "knas": rows.score}


# (members, pass) — a group is used when at least two of its members are requested.
GROUPS: tuple[tuple[frozenset[str], Callable[[set[str], nn.Module, ProxyContext], Outcome]], ...] = (
    (frozenset({"grad_norm", "snip", "plain", "fisher", "grasp", "jacov", "epe_nas", "nwot"}), backprop_group),
    (frozenset({"swap", "reg_swap"}), swap_group),
    (frozenset({"az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "flops"}), az_group),
    (frozenset({"gradsign", "knas"}), per_sample_group),
)
