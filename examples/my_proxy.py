"""A zero-cost proxy as a zcbench plugin (docs/your-proxy.md): ``zcbench score --plugin my_proxy.py --proxy preact``.

``preact`` is the mean absolute pre-activation — the input of every ReLU — of the network at its seeded
initialisation, on a Gaussian batch it draws itself: it needs no images (``images=False``).
"""

import torch

from zcbench import register_proxy


@register_proxy("preact", images=False, paper="docs/your-proxy.md (example)", version="1")
def preact(net: torch.nn.Module, ctx) -> float:
    """Mean |input| of the network's ReLUs on a seeded Gaussian batch of 8."""
    seen = []
    relus = [m for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    hooks = [m.register_forward_pre_hook(lambda _m, args: seen.append(args[0].abs().mean())) for m in relus]
    x = torch.randn(8, *ctx.input_shape, generator=torch.Generator().manual_seed(ctx.seed))
    with torch.no_grad():
        net(x.to(ctx.device))
    for h in hooks:
        h.remove()
    return torch.stack(seen).mean().item()
