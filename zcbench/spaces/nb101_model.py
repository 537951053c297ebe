"""The official NAS-Bench-101 network in PyTorch (FORMATS.md §2.5, ``nasbench/lib/model_builder.py``).

stem conv3x3(3→128)+BN+ReLU, then 3 stacks of 3 modules (max-pool 2×2 and channel doubling
before stacks 1 and 2), global average pool, Linear(512→10). Inside a module, channels are split
by ``compute_vertex_channels``; the input reaches interior vertices (and the output, if wired)
through 1×1 projections, interior edges are summed after truncation, and vertices wired to the
output are concatenated.

BatchNorm: TF's ``batch_normalization(momentum=0.997, epsilon=1e-5)`` keeps
``running = 0.997·running + 0.003·batch``; PyTorch's ``momentum`` is the weight of the *batch*
term, so the equivalent is ``momentum=0.003`` (NASBench-PyTorch passes 0.997 straight through,
which only matters for eval-mode running statistics).

Initialisation: :func:`port_init`, the ``_initialize_weights`` of the PyTorch ports that the zero-cost
papers scored (SamsungLabs ``foresight/models/nasbench1.py`` for Abdelfattah et al., NASBench-PyTorch for
NASLib / NAS-Bench-Suite-Zero): conv N(0, √(2/(k·k·C_out))), BN (1, 0), Linear N(0, 0.01), biases 0.
With it our l2_norm equals NASLib's published values (median ratio 0.9999) where PyTorch's default
init gives 0.39 of them. The official TF variance-scaling init is not reproduced.
"""

from __future__ import annotations

import math

import torch
from torch import nn

BN_MOMENTUM = 1.0 - 0.997  # TF decay 0.997 expressed as PyTorch's update weight
BN_EPS = 1e-5
STEM_CHANNELS = 128
NUM_STACKS = 3
MODULES_PER_STACK = 3


def compute_vertex_channels(in_ch: int, out_ch: int, matrix: list[list[int]]) -> list[int]:
    """Output channels of every vertex of a (pruned) module, exactly as the official builder."""
    v = len(matrix)
    ch = [0] * v
    ch[0], ch[v - 1] = in_ch, out_ch
    if v == 2:
        return ch
    fan_in = sum(matrix[s][v - 1] for s in range(1, v))  # in-degree of output, input excluded
    base, extra = divmod(out_ch, fan_in)
    for t in range(1, v - 1):
        if matrix[t][v - 1]:
            ch[t] = base + (1 if extra else 0)
            extra -= 1 if extra else 0
    for t in range(v - 3, 0, -1):  # vertex v-2 can only feed the output
        if not matrix[t][v - 1]:
            for dst in range(t + 1, v - 1):
                if matrix[t][dst]:
                    ch[t] = max(ch[t], ch[dst])
    return ch


class ConvBnRelu(nn.Module):
    """``base_ops.conv_bn_relu``: conv ('same', no bias) → BN → ReLU, nested as the PyTorch ports nest
    it (``self.conv_bn_relu``), so proxies that hook every module (meco) see the same module tree."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.conv_bn_relu = nn.Sequential(
            nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_bn_relu(x)


class VertexOp(nn.Module):
    """An interior vertex's op, wrapped once as the ports' ``Conv3x3BnRelu`` / ``MaxPool3x3`` are."""

    def __init__(self, name: str, ch: int) -> None:
        super().__init__()
        if name == "conv3x3-bn-relu":
            self.op: nn.Module = ConvBnRelu(ch, ch, 3)
        elif name == "conv1x1-bn-relu":
            self.op = ConvBnRelu(ch, ch, 1)
        elif name == "maxpool3x3":
            self.op = nn.MaxPool2d(3, stride=1, padding=1)  # -inf padding == TF 'same' max-pool
        else:
            raise ValueError(f"unknown NB101 op {name!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Module101(nn.Module):
    """One NB101 module (cell) of a pruned spec."""

    def __init__(self, matrix: list[list[int]], ops: list[str], in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.matrix = [list(map(int, row)) for row in matrix]
        v = self.v = len(matrix)
        self.ch = compute_vertex_channels(in_ch, out_ch, self.matrix)
        self.proj = nn.ModuleDict(
            {str(t): ConvBnRelu(in_ch, self.ch[t], 1) for t in range(1, v - 1) if self.matrix[0][t]}
        )
        self.vertex_ops = nn.ModuleDict({str(t): VertexOp(ops[t], self.ch[t]) for t in range(1, v - 1)})
        self.out_feeders = [t for t in range(1, v - 1) if self.matrix[t][v - 1]]
        self.out_proj = ConvBnRelu(in_ch, out_ch, 1) if self.matrix[0][v - 1] else None
        # interior sources of every vertex (s < t, s ≥ 1)
        self.sources = {t: [s for s in range(1, t) if self.matrix[s][t]] for t in range(1, v - 1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tensors: list[torch.Tensor] = [x]
        for t in range(1, self.v - 1):
            c = self.ch[t]
            inputs = [tensors[s][:, :c] for s in self.sources[t]]  # truncate (drops ≤ 1 channel)
            if self.matrix[0][t]:
                inputs.append(self.proj[str(t)](x))
            h = inputs[0]
            for extra in inputs[1:]:
                h = h + extra
            tensors.append(self.vertex_ops[str(t)](h))
        if not self.out_feeders:
            assert self.out_proj is not None
            return self.out_proj(x)
        feeds = [tensors[t] for t in self.out_feeders]
        out = feeds[0] if len(feeds) == 1 else torch.cat(feeds, dim=1)
        if self.out_proj is not None:
            out = out + self.out_proj(x)
        return out


class Network101(nn.Module):
    """The NB101 training network of one (pruned) spec; ``forward`` returns logits."""

    def __init__(self, matrix: list[list[int]], ops: list[str], num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBnRelu(3, STEM_CHANNELS, 3)]
        in_ch = out_ch = STEM_CHANNELS
        for stack in range(NUM_STACKS):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))  # TF "same" on odd sizes
                out_ch *= 2
            for _ in range(MODULES_PER_STACK):
                layers.append(Module101(matrix, ops, in_ch, out_ch))
                in_ch = out_ch
        self.layers = nn.ModuleList(layers)  # a list, not a Sequential: no extra module call (as the ports)
        self.classifier = nn.Linear(out_ch, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map of the last stack, before global average pooling."""
        for layer in self.layers:
            x = layer(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))


@torch.no_grad()
def port_init(net: nn.Module) -> nn.Module:
    """The NB101 PyTorch ports' ``_initialize_weights`` (see the module docstring), in place."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.weight.normal_(0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.fill_(1)
            m.bias.zero_()
        elif isinstance(m, nn.Linear):
            m.weight.normal_(0, 0.01)
            m.bias.zero_()
    return net
