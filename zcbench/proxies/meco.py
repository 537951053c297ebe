"""``meco``: MeCo (Jiang et al., NeurIPS 2023), ``HamsterMimi/MeCo correlation/NAS_Bench_201.py``
``get_score(measure='meco')`` — the paper's MeCo, not the channel-sampled MeCo_opt.

One input sample (the first of the minibatch; the official NB201 script uses batch size 1), one forward
in train mode; a forward hook on *every* module (``named_modules``, the root included) takes the first
sample of its output, reshapes it to (channels, rest), forms the Pearson correlation matrix, sets NaN/inf
entries to 0 and records the minimum real eigenvalue. score = Σ of the finite recorded values. The hooks
only keep the features; everything after the forward runs on the host (one copy there).
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import require_inputs, to_host


def channel_corr(fea: torch.Tensor) -> torch.Tensor:
    """corrcoef(fea.reshape(len(fea), −1)) with NaN/inf entries zeroed (MeCo's hook), on fea's device."""
    fea = fea.reshape(fea.shape[0], -1)
    with warnings.catch_warnings():  # one observation per variable: NaN by design, zeroed below
        warnings.simplefilter("ignore", UserWarning)
        corr = torch.corrcoef(fea)
    return torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)  # = corr[isnan] = 0; corr[isinf] = 0


def min_real_eigs(corrs: list[torch.Tensor]) -> list[float]:
    """λ_min (real part) of each matrix, read with one host sync."""
    if not corrs:
        return []
    return torch.stack([torch.min(torch.real(torch.linalg.eig(c)[0])) for c in corrs]).tolist()


def min_corr_eig(fea: torch.Tensor) -> float:
    """λ_min of :func:`channel_corr` of ``fea`` (one module's value)."""
    return min_real_eigs([channel_corr(fea)])[0]


def meco_from(features: list[torch.Tensor]) -> float:
    """Σ of the finite λ_min over the modules' first-sample features, computed on the host: the features
    move there with one copy (``corrcoef`` checks its degrees of freedom on the host and ``eig`` runs on
    the CPU anyway, so on a GPU each module would otherwise wait for the device twice)."""
    return math.fsum(v for v in min_real_eigs([channel_corr(f) for f in to_host(features)]) if math.isfinite(v))


@register_proxy("meco", splits=False, paper="Jiang et al., NeurIPS 2023 (MeCo)")
def meco(net: nn.Module, ctx: ProxyContext) -> float:
    """Σ over modules of the minimum eigenvalue of the channel correlation of one sample's features."""
    x, _ = require_inputs(ctx)
    x = x[:1]
    features: list[torch.Tensor] = []

    def hook(module, inp, out):
        try:
            fea = out[0]  # the reference's data_output[0]: first sample (or first tuple element)
        except (TypeError, IndexError, KeyError):
            return
        if isinstance(fea, torch.Tensor) and fea.dim() > 0:
            features.append(fea.detach().clone())  # as at this moment (a later in-place op may change it)

    net.train()
    handles = [m.register_forward_hook(hook) for _, m in net.named_modules()]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return meco_from(features)
