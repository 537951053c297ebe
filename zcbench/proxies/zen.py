"""``zen``: Zen-score (Lin et al., ICCV 2021), NASLib ``measures/zen.py`` (from Zen-NAS).

Re-initialise the network Gaussian (Conv2d/Linear weights N(0,1), biases 0; BN/GroupNorm weight 1,
bias 0), draw x, ε ~ N(0,1) of the minibatch shape, run x and x + γε (γ = ``zen_mixup_gamma``, 1e-2)
through ``net.forward_features`` (the map before global pooling) in train mode without gradients and
score = log(mean_n Σ |f(x) − f(x+γε)|) + Σ_BN2d log √(mean running_var). ``zen_repeat`` (1, NASLib)
re-draws everything and averages. Data-free: the batch size is ``zen_batch``, else the run's batch size
(``ctx.batch_size``, so the run key of zen carries it), else 32 (NASLib's); all draws come from a generator
seeded with ``ctx.seed``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import Option, ProxyContext, register_proxy
from .utils import gaussian_init_, randn, seeded_generator


def zen_batch(ctx: ProxyContext) -> int:
    return int(ctx.options.get("zen_batch") or ctx.batch_size or 32)


@register_proxy(
    "zen",
    images=False,
    options={
        "zen_batch": Option(int, None, minimum=1, doc="Gaussian inputs per forward (default: the run's batch size)"),
        "zen_mixup_gamma": Option(float, 1e-2, positive=True, doc="perturbation scale γ"),
        "zen_repeat": Option(int, 1, minimum=1, doc="re-initialisations averaged"),
    },
    uses_batch_size=True,
    splits=False,
    paper="Lin et al., ICCV 2021 (Zen-NAS)",
)
def zen(net: nn.Module, ctx: ProxyContext) -> float:
    """log E|f(x) − f(x+γε)| + Σ log √(mean BN running var), Gaussian init and inputs."""
    features = getattr(net, "forward_features", None)
    if features is None:
        raise ValueError("zen needs a network with forward_features (a global-pooling head)")
    gamma = float(ctx.options.get("zen_mixup_gamma", 1e-2))
    repeat = int(ctx.options.get("zen_repeat", 1))
    shape = (zen_batch(ctx), *ctx.input_shape)
    g = seeded_generator(ctx.seed)
    net.train()
    scores = []
    with torch.no_grad():
        for _ in range(repeat):
            gaussian_init_(net, g)
            x = randn(shape, g, ctx.device)
            eps = randn(shape, g, ctx.device)
            out = features(x)
            mix = features(x + gamma * eps)
            diff = torch.abs(out - mix)
            nas = torch.mean(torch.sum(diff, dim=list(range(1, diff.dim()))))
            log_bn = 0.0
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
                    log_bn += torch.log(torch.sqrt(torch.mean(m.running_var)))
            scores.append(torch.log(nas) + log_bn)
    return math.fsum(torch.stack(scores).tolist()) / len(scores)  # one host sync for all repeats
