"""The official NAS-Bench-201 TinyNetwork (xautodl ``TinyNetwork`` with ``InferCell``), C=16, N=5.

Module structure and parameter shapes follow the official code exactly, so the parameter count
equals the dump's ``params`` for every architecture and dataset (FORMATS §1.6): stem conv3x3+BN,
three stages of N cells separated by two ResNet basic blocks (stride 2), then BN-ReLU, global
average pooling and a linear classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .fastops import AvgPool2d

Genotype = Sequence[Sequence[tuple[str, int]]]  # nodes 1..3, each a list of (op, input node)


class ReLUConvBN(nn.Module):
    """ReLU → Conv (no bias) → BN, nested in ``self.op`` as xautodl nests it: proxies that hook every
    module (meco) or name modules see the official module tree."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: a zero tensor of the input's shape (C_in == C_out, stride 1 in cells)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class AvgPool(nn.Module):
    """``avg_pool_3x3`` (no preprocessing conv: C_in == C_out in every NB201 cell); the layer is
    ``fastops.AvgPool2d``, bit-identical to ``nn.AvgPool2d`` and faster on the CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.op = AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return AvgPool()
    raise ValueError(f"unknown NB201 op {name!r}")


class InferCell(nn.Module):
    """Node i = sum of op(node j) over its incoming edges; the cell outputs the last node."""

    def __init__(self, genotype: Genotype, channels: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_inputs: list[list[tuple[int, int]]] = []  # per node: (layer index, input node)
        for node in genotype:
            edges = []
            for op, j in node:
                edges.append((len(self.layers), j))
                self.layers.append(make_op(op, channels))
            self.node_inputs.append(edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for edges in self.node_inputs:
            nodes.append(sum(self.layers[k](nodes[j]) for k, j in edges))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    """The reduction block between stages: two 3x3 ReLUConvBN and an avgpool+1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        basic = self.conv_b(self.conv_a(x))  # xautodl's order: the residual branch first
        return self.downsample(x) + basic


class TinyNetwork(nn.Module):
    """NB201's network: ``forward`` returns logits, ``forward_features`` the map before pooling."""

    def __init__(self, genotype: Genotype, num_classes: int, C: int = 16, N: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C))
        channels = [C] * N + [C * 2] + [C * 2] * N + [C * 4] + [C * 4] * N
        reductions = [False] * N + [True] + [False] * N + [True] + [False] * N
        self.cells = nn.ModuleList()
        c_prev = C
        for c, red in zip(channels, reductions):
            self.cells.append(ResNetBasicblock(c_prev, c) if red else InferCell(genotype, c))
            c_prev = c
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.lastact(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.forward_features(x)).flatten(1)
        return self.classifier(out)


# -- Samsung's re-implementation (variant "samsung") ------------------------------------------------
# The network Abdelfattah et al. scored NB201 with (SamsungLabs/zero-cost-nas foresight/models/nasbench2.py,
# ``NAS201Model``): every candidate op is instantiated on every edge and a mask picks the ones the
# architecture uses; cell convs carry a bias and cell BNs are affine-free without running statistics.
# In train mode the masked-in function equals the official network's (BN removes the conv bias), so the
# gradient proxies agree; synflow (BN bypassed) and params/l2_norm (all candidates counted) do not.
SAMSUNG_OPS = ("none", "avg_pool_3x3", "nor_conv_3x3", "nor_conv_1x1", "skip_connect")  # its OPS order


def _samsung_op(name: str, c: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return AvgPool()
    k, pad = (3, 1) if name == "nor_conv_3x3" else (1, 0)
    conv = ReLUConvBN(c, c, k, 1, pad)
    conv.op[1] = nn.Conv2d(c, c, k, stride=1, padding=pad, bias=True)  # bias = not affine
    conv.op[2] = nn.BatchNorm2d(c, affine=False, track_running_stats=False)
    return conv


class SamsungSearchCell(nn.Module):
    """All 5 candidate ops on each of the 6 edges (``options``); ``keep`` marks the architecture's."""

    def __init__(self, genotype: Genotype, channels: int) -> None:
        super().__init__()
        chosen = {(i, j): op for i, node in enumerate(genotype) for op, j in node}
        self.options = nn.ModuleList()
        self.keep: list[bool] = []
        for node in range(3):
            for prev in range(node + 1):
                for name in SAMSUNG_OPS:
                    self.options.append(_samsung_op(name, channels))
                    self.keep.append(chosen[(node, prev)] == name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs, idx = [x], 0
        for node in range(3):
            edges = []
            for prev in range(node + 1):
                for _ in SAMSUNG_OPS:
                    if self.keep[idx]:
                        edges.append(self.options[idx](outs[prev]))
                    idx += 1
            outs.append(sum(edges))
        return outs[-1]


class SamsungNAS201(nn.Module):
    """Samsung's ``NAS201Model`` (C=16, N=5): stem, 3 stacks of 5 search cells, 2 ResNet reductions."""

    def __init__(self, genotype: Genotype, num_classes: int, C: int = 16, N: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.stack_cell1 = nn.Sequential(*[SamsungSearchCell(genotype, C) for _ in range(N)])
        self.reduction1 = ResNetBasicblock(C, 2 * C)
        self.stack_cell2 = nn.Sequential(*[SamsungSearchCell(genotype, 2 * C) for _ in range(N)])
        self.reduction2 = ResNetBasicblock(2 * C, 4 * C)
        self.stack_cell3 = nn.Sequential(*[SamsungSearchCell(genotype, 4 * C) for _ in range(N)])
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduction1(self.stack_cell1(self.stem(x)))
        x = self.reduction2(self.stack_cell2(x))
        return self.lastact(self.stack_cell3(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.forward_features(x)).flatten(1))
