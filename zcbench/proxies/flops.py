"""``flops``: MFLOPs of one batch-1 forward, counted the way NAS-Bench-201's dump counts them.

xautodl ``get_model_infos`` hooks: Conv2d = Ho·Wo·k_h·k_w·C_in·C_out/groups (+ C_out·Ho·Wo with bias),
Linear = in·out (+ out with bias); nothing else (pooling, BN, ReLU, additions) is counted. The dump's
``flop`` column contains no pooling term: arch 0 has 15.64737 MFLOPs, and counting its pools
(C·Ho·Wo·k²) would add exactly 1.314816. Reproduces the dump's ``flop`` column.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import ProxyContext, register_proxy


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def count_flops(net: nn.Module, input_shape: tuple[int, ...], device: torch.device | str = "cpu") -> float:
    """FLOPs (not M) of a forward of one zero input of ``input_shape`` (per-sample shape)."""
    total = [0.0]

    def conv_hook(m: nn.Conv2d, inp, out):
        kh, kw = _pair(m.kernel_size)
        active = out.shape[0] * out.shape[2] * out.shape[3]
        total[0] += kh * kw * m.in_channels * m.out_channels / m.groups * active
        if m.bias is not None:
            total[0] += m.out_channels * active

    def linear_hook(m: nn.Linear, inp, out):
        batch = inp[0].numel() // inp[0].shape[-1]
        total[0] += batch * m.in_features * m.out_features
        if m.bias is not None:
            total[0] += batch * m.out_features

    handles = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(torch.zeros((1, *input_shape), device=device))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return total[0]


@register_proxy("flops", images=False, splits=False, paper="(baseline) FLOPs; as NAS-Bench-201's get_model_infos")
def flops(net: nn.Module, ctx: ProxyContext) -> float:
    """MFLOPs of a batch-1 forward."""
    return count_flops(net, ctx.input_shape, ctx.device) / 1e6
