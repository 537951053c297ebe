"""``epe_nas``: EPE-NAS (Lopes et al., ICANN 2021), NASLib ``measures/epe_nas.py`` (from the authors'
``search.py``).

The per-sample input Jacobians J (as jacov: ∂Σlogits/∂x, train mode) are grouped by label; for each
class c, s_c = Σ log(|corrcoef(J_c)| + k), k = 1e-5 (a class with one sample has corrcoef = 1). With
K = number of logits: K ≤ 100 → score = Σ_c |s_c|; K > 100 → s_c is divided by its matrix size (a
one-sample class is skipped, as the reference's ``except``) and score = Σ_c Σ_c' |s_c − s_c'| / #classes
(no class left: the reference's division by zero, so an error → NaN, never a score of 0).
Soft (2-D) targets are reduced by argmax, as NASLib does for TransNAS-Bench classification tasks.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .base import ProxyContext, register_proxy
from .jacov import input_jacobian
from .utils import require_targets

K_EPS = 1e-5


def epe_from(jacobs: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    """NASLib ``eval_score_perclass`` on flattened Jacobians (rows) and integer labels."""
    per_class: dict = {}
    for i, label in enumerate(labels):
        label = label.item() if hasattr(label, "item") else label
        per_class[label] = np.vstack((per_class[label], jacobs[i])) if label in per_class else jacobs[i]
    class_score = {}
    with np.errstate(all="ignore"):
        for c, rows in per_class.items():
            try:
                corrs = np.array(np.corrcoef(rows))
                s = np.sum(np.log(abs(corrs) + K_EPS))
                if n_classes > 100:
                    s /= len(corrs)
            except TypeError:  # len() of a 0-d matrix: a one-sample class under the >100 rule
                continue
            class_score[c] = s
    score = 0.0
    if n_classes <= 100:
        for c in class_score:
            score += np.absolute(class_score[c])
    else:
        if not class_score:  # the reference divides by 0 here (ZeroDivisionError, caught → NaN), not 0
            raise ValueError("epe_nas: no class has two samples in the minibatch (needed when > 100 classes)")
        for c in class_score:
            for cj in class_score:
                score += np.absolute(class_score[c] - class_score[cj])
        score /= len(class_score)
    return float(score)


def epe_labels(targets: torch.Tensor) -> np.ndarray:
    t = targets.detach()
    if t.dim() == 2:
        t = torch.argmax(t, dim=1)
    if t.dim() != 1 or t.is_floating_point():
        raise ValueError("epe_nas needs class labels (one integer per sample)")
    return t.cpu().numpy()


def epe_nas_from(jac: torch.Tensor, targets: torch.Tensor, n_classes: int) -> float:
    return epe_from(jac.reshape(jac.size(0), -1).cpu().numpy(), epe_labels(targets), n_classes)


@register_proxy("epe_nas", labels=True, head=True, paper="Lopes et al., ICANN 2021 (EPE-NAS)")
def epe_nas(net: nn.Module, ctx: ProxyContext) -> float:
    """Per-class Jacobian-correlation score (uses the class labels and the head width)."""
    x, t = require_targets(ctx)
    jac, n_classes = input_jacobian(net, x, ctx.split_data)
    return epe_nas_from(jac, t, n_classes)
