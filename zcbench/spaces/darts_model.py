"""The DARTS evaluation network (``quark0/darts`` ``cnn/model.py`` ``NetworkCIFAR`` and
``cnn/operations.py``) with the small switches the NB301-related code bases differ in.

Why one module for three code bases: NB301's training net, NASLib's NB301 graph and SWAP's DARTS
net share the same cell wiring (two preprocessed inputs, four nodes summing two ops each, concat of
nodes 2..5, reductions at ``L//3`` and ``2L//3``); they differ only in the switches of
:class:`OpStyle`, whether a stem exists, and the widths (see ``nb301.py`` for each variant).
Module names follow DARTS (``stem``, ``cells.i.preprocess0``, ``cells.i._ops.j``, ``classifier``)
so per-layer proxies line up with the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .fastops import AvgPool2d


@dataclass(frozen=True)
class OpStyle:
    """How a code base builds the candidate ops inside cells.

    ``affine``: BatchNorm affine in cell ops (DARTS/NB301/SWAP: True; NASLib: False).
    ``pool_bn``: NASLib appends ``BatchNorm2d(C, affine=False)`` to each pooling op.
    ``pad_reduce``: SWAP's FactorizedReduce pads right/bottom before the shifted 1x1 conv
    (identical output to DARTS for even sizes, defined for odd ones).
    ``dropout_drop_path``: SWAP's ``drop_path`` is plain dropout (only matters when training).
    """

    affine: bool = True
    pool_bn: bool = False
    pad_reduce: bool = False
    dropout_drop_path: bool = False


DARTS_STYLE = OpStyle()
NASLIB_STYLE = OpStyle(affine=False, pool_bn=True)
SWAP_STYLE = OpStyle(pad_reduce=True, dropout_drop_path=True)


class ReLUConvBN(nn.Module):
    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """ReLU, depthwise dilated kxk, pointwise 1x1, BN."""

    def __init__(
        self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, dilation: int, affine: bool = True
    ):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=C_in, bias=False
            ),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Two stacked (ReLU, depthwise kxk, pointwise 1x1, BN); only the first is strided."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=1, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Identity(nn.Module):
    """DARTS' Identity (its own class: drop-path skips exactly these)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The 'none' op: zeros of the (strided) input shape."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """ReLU, two stride-2 1x1 convs on ``x`` and ``x`` shifted by one pixel, concat, BN."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True, pad: bool = False):
        super().__init__()
        self.pad = pad
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out - C_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:] if self.pad else x[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def _pool(kind: str, C: int, stride: int, style: OpStyle) -> nn.Module:
    if kind == "avg":
        pool: nn.Module = AvgPool2d(
            3, stride=stride, padding=1, count_include_pad=False
        )  # = nn.AvgPool2d, faster on CPU
    else:
        pool = nn.MaxPool2d(3, stride=stride, padding=1)
    return nn.Sequential(pool, nn.BatchNorm2d(C, affine=False)) if style.pool_bn else pool


def make_op(name: str, C: int, stride: int, style: OpStyle = DARTS_STYLE) -> nn.Module:
    """DARTS ``OPS[name](C, stride, affine)`` under ``style``."""
    a = style.affine
    if name == "none":
        return Zero(stride)
    if name == "avg_pool_3x3":
        return _pool("avg", C, stride, style)
    if name == "max_pool_3x3":
        return _pool("max", C, stride, style)
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(C, C, affine=a, pad=style.pad_reduce)
    if name == "sep_conv_3x3":
        return SepConv(C, C, 3, stride, 1, affine=a)
    if name == "sep_conv_5x5":
        return SepConv(C, C, 5, stride, 2, affine=a)
    if name == "dil_conv_3x3":
        return DilConv(C, C, 3, stride, 2, 2, affine=a)
    if name == "dil_conv_5x5":
        return DilConv(C, C, 5, stride, 4, 2, affine=a)
    raise ValueError(f"unknown DARTS op {name!r}")


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """DARTS drop-path: zero whole samples with probability ``drop_prob``, rescale the rest."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x.div(keep).mul(mask)


class Cell(nn.Module):
    def __init__(
        self,
        pairs: Sequence[tuple[str, int]],
        concat: Sequence[int],
        C_prev_prev: int,
        C_prev: int,
        C: int,
        reduction: bool,
        reduction_prev: bool,
        style: OpStyle = DARTS_STYLE,
    ):
        super().__init__()
        self.reduction = reduction
        self.style = style
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(C_prev_prev, C, pad=style.pad_reduce)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0)
        op_names, indices = zip(*pairs)
        self._steps = len(op_names) // 2
        self._concat = list(concat)
        self.multiplier = len(self._concat)
        self._ops = nn.ModuleList(
            make_op(name, C, 2 if reduction and index < 2 else 1, style) for name, index in zip(op_names, indices)
        )
        self._indices = list(indices)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self._steps):
            hs = []
            for j in (2 * i, 2 * i + 1):
                op = self._ops[j]
                h = op(states[self._indices[j]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = F.dropout(h, p=drop_prob) if self.style.dropout_drop_path else drop_path(h, drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in self._concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS auxiliary classifier, for an 8x8 input."""

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class NetworkCIFAR(nn.Module):
    """DARTS ``NetworkCIFAR(C, num_classes, layers, auxiliary, genotype)``.

    ``forward`` returns the logits only; with ``auxiliary`` and in training mode the auxiliary
    logits are kept in ``self.logits_aux``. ``stem_multiplier=None`` is SWAP's net (no stem): cells read the image
    directly, so ``C`` must equal the input channels (3). ``forward_features`` is the last cell's
    output, before global pooling.
    """

    def __init__(
        self,
        C: int,
        num_classes: int,
        layers: int,
        genotype,
        auxiliary: bool = False,
        style: OpStyle = DARTS_STYLE,
        drop_path_prob: float = 0.0,
        stem_multiplier: int | None = 3,
    ):
        super().__init__()
        self._layers = layers
        self._auxiliary = auxiliary
        self.drop_path_prob = drop_path_prob
        self.logits_aux: torch.Tensor | None = None
        if stem_multiplier is not None:
            C_curr = stem_multiplier * C
            self.stem: nn.Module = nn.Sequential(nn.Conv2d(3, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        else:
            C_curr = C
            self.stem = nn.Identity()
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        C_aux = C_prev
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                C_curr *= 2
            pairs, concat = (
                (genotype.reduce, genotype.reduce_concat) if reduction else (genotype.normal, genotype.normal_concat)
            )
            cell = Cell(pairs, concat, C_prev_prev, C_prev, C_curr, reduction, reduction_prev, style)
            reduction_prev = reduction
            self.cells.append(cell)
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
            if i == 2 * layers // 3:
                C_aux = C_prev
        if auxiliary:
            self.auxiliary_head = AuxiliaryHeadCIFAR(C_aux, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.logits_aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self._layers // 3 and self._auxiliary and self.training:
                self.logits_aux = self.auxiliary_head(s1)
        return s1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.forward_features(x))
        return self.classifier(out.flatten(1))
