"""``jacov``: Jacobian covariance (Mellor et al., NASWOT v1, 2020), Samsung's ``jacob_cov`` form as used by
Abdelfattah et al. (ICLR 2021) and NASLib (``measures/jacov.py``).

J = ∂(Σ outputs)/∂x per sample (BN on, train mode, one backward of ``ones`` through the logits), rows
flattened; C = corrcoef(J); with the eigenvalues v of C and k = 1e-5,
score = −Σ (log(v + k) + 1/(v + k)).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .utils import require_inputs, split_ranges

K_EPS = 1e-5


def input_jacobian(net: nn.Module, x: torch.Tensor, split_data: int = 1) -> tuple[torch.Tensor, int]:
    """Samsung ``get_batch_jacobian``: x.grad after ``y.backward(ones)`` per split piece; also returns
    the output width ``y.shape[-1]`` (EPE-NAS's number of classes)."""
    net.train()
    net.zero_grad()
    x = x.detach().clone().requires_grad_(True)
    width = 0
    for st, en in split_ranges(len(x), split_data):
        y = net(x[st:en])
        width = int(y.shape[-1])
        y.backward(torch.ones_like(y))
    return x.grad.detach(), width


def jacov_from(jac: torch.Tensor) -> float:
    """−Σ log(v+k) + 1/(v+k) over the eigenvalues of corrcoef of the flattened per-sample Jacobians."""
    jacobs = jac.reshape(jac.size(0), -1).cpu().numpy()
    with np.errstate(all="ignore"):
        corrs = np.corrcoef(jacobs)
        if not np.all(np.isfinite(corrs)):
            raise FloatingPointError("jacov: a sample's input Jacobian is constant (correlation undefined)")
        v, _ = np.linalg.eig(corrs)
        if np.iscomplexobj(v):
            v = v.real
        score = -np.sum(np.log(v + K_EPS) + 1.0 / (v + K_EPS))
    return float(score)


@register_proxy("jacov", paper="Mellor et al., arXiv 2006.04647v1 (NASWOT v1); Abdelfattah et al., ICLR 2021")
def jacov(net: nn.Module, ctx: ProxyContext) -> float:
    """Eigen-spectrum score of the correlation of per-sample input Jacobians."""
    x, _ = require_inputs(ctx)
    return jacov_from(input_jacobian(net, x, ctx.split_data)[0])
