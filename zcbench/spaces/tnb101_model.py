"""TransNAS-Bench-101 networks: the official encoder (MacroNet) and the seven task models.

Rewritten from the structure of ``yawen-d/TransNASBench:lib/models`` (``net_infer/net_macro.py``,
``net_infer/cell_micro.py``, ``net_ops/cell_ops.py``, ``task_models/*.py``; MIT) so that module
names, parameter shapes, parameter order and forward arithmetic match the official code: an
official state_dict loads into these modules key for key.

Quirks reproduced on purpose (they change numbers, so proxies would differ without them):

* ``ResNetBasicblock``'s downsample BatchNorm is built as ``nn.BatchNorm2d(planes, affine,
  track_running_stats)`` *positionally*, i.e. ``eps=True`` (1.0) and ``momentum=True`` (1.0).
* The encoder is constructed with the official default ``input_dim=(224, 224)``; its
  ``output_dim`` (used by the dense decoders to choose how many upsampling layers they get) is
  therefore computed for 224-pixel inputs, exactly as in training (where the images were 256).
* ``MicroCell`` sums node inputs with ``torch.stack(...).sum(0)``; ``Zero`` between different
  channel counts returns ``(H + 1) // stride`` zeros.
* Decoder ConvLayer/DeconvLayer convolutions keep their biases even before BatchNorm.

Initialisation: modules are built at PyTorch's default init; the official ``MacroNet`` constructor
then re-initialises its convolutions with Kaiming-normal (fan_out) and BN to (1, 0), which
:func:`official_init` reproduces (the space's ``build`` applies it by default).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

# ----------------------------------------------------------------------------------------------
# primitive ops (net_ops/cell_ops.py)


class ReLUConvBN(nn.Module):
    """ReLU -> Conv (no bias) -> BN, the only parametrised op of the cells."""

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel_size,
        stride,
        padding,
        dilation=1,
        affine: bool = True,
        track_running_stats: bool = True,
    ):
        super().__init__()
        self.ops = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ops(x)


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The 'none' edge: zeros of the output shape (official spatial rule ``(H + 1) // stride``)."""

    def __init__(self, C_in: int, C_out: int, stride: int):
        super().__init__()
        self.C_in, self.C_out, self.stride = C_in, C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.C_in == self.C_out:
            if self.stride == 1:
                return x.mul(0.0)
            return x[:, :, :: self.stride, :: self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.C_out
        shape[2] = (shape[2] + 1) // self.stride
        shape[3] = (shape[3] + 1) // self.stride
        return x.new_zeros(shape)


class FactorizedReduce(nn.Module):
    """Skip edge that changes stride/channels: two offset 1x1 convs concatenated, then BN."""

    def __init__(self, C_in: int, C_out: int, stride: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        assert C_out % 2 == 0, f"C_out {C_out}"
        self.relu = nn.ReLU(inplace=False)
        c_outs = [C_out // 2, C_out - C_out // 2]
        self.convs = nn.ModuleList(nn.Conv2d(C_in, c, 1, stride=stride, padding=0, bias=False) for c in c_outs)
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        self.bn = nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = self.pad(x)
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1))


def make_op(code: str, C_in: int, C_out: int, stride: int) -> nn.Module:
    """Official ``OPS[code]``: 0 zero, 1 skip (FactorizedReduce if shape changes), 2 conv1x1, 3 conv3x3."""
    if code == "0":
        return Zero(C_in, C_out, stride)
    if code == "1":
        return Identity() if (stride == 1 and C_in == C_out) else FactorizedReduce(C_in, C_out, stride)
    if code == "2":
        return ReLUConvBN(C_in, C_out, (1, 1), stride, (0, 0), (1, 1))
    if code == "3":
        return ReLUConvBN(C_in, C_out, (3, 3), stride, (1, 1), (1, 1))
    raise ValueError(f"unknown op code {code!r}")


# ----------------------------------------------------------------------------------------------
# cells (net_infer/cell_micro.py)


class MicroCell(nn.Module):
    """4-node DAG cell; ``cell_code`` is ``['', 'a', 'bc', 'def']`` (ops into nodes 1, 2, 3)."""

    expansion = 1

    def __init__(self, cell_code: Sequence[str], C_in: int, C_out: int, stride: int):
        super().__init__()
        self.nodes = list(range(len(cell_code)))
        assert self.nodes == [len(c) for c in cell_code], cell_code
        self.from_nodes = [list(range(i)) for i in self.nodes]
        self.from_ops = [list(range(n * (n - 1) // 2, n * (n - 1) // 2 + n)) for n in self.nodes]
        self.edges = nn.ModuleList()
        for node in self.nodes:
            for op, src in zip(cell_code[node], self.from_nodes[node]):
                self.edges.append(make_op(op, C_in, C_out, stride) if src == 0 else make_op(op, C_out, C_out, 1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        feats = [inputs]
        for node in self.nodes[1:]:
            parts = [self.edges[o](feats[s]) for o, s in zip(self.from_ops[node], self.from_nodes[node])]
            feats.append(torch.stack(parts).sum(0))
        return feats[-1]


def quirky_bn(planes: int) -> nn.BatchNorm2d:
    """The official ``nn.BatchNorm2d(planes, affine, track_running_stats)`` with both flags True,
    passed positionally: they land in ``eps`` and ``momentum``, so eps = momentum = 1.0."""
    return nn.BatchNorm2d(planes, 1.0, 1.0)


class ResNetBasicblock(nn.Module):
    """'basic' cell of the macro space: two ReLUConvBN 3x3 plus a (1x1 conv + quirky BN) shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv_a = ReLUConvBN(inplanes, planes, 3, stride, 1, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1, 1)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, padding=0, bias=False),
                quirky_bn(planes),
            )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        feature = self.conv_b(self.conv_a(inputs))
        residual = self.downsample(inputs) if self.downsample is not None else inputs
        return residual + feature


# ----------------------------------------------------------------------------------------------
# encoder (net_infer/net_macro.py, structure='backbone')


class MacroNet(nn.Module):
    """Backbone of ``net_code`` (``64-41414-a_bc_def`` or ``64-<macro>-basic``): feature map out.

    ``output_dim`` is ``(C_final, h, w)`` for the official default ``input_dim=(224, 224)``.
    """

    def __init__(self, net_code: str, input_dim: tuple[int, int] = (224, 224)):
        super().__init__()
        parts = net_code.split("-")
        base = int(parts[0])
        self.macro_code = parts[1]
        basic = parts[-1] == "basic"
        micro_code = None if basic else [""] + parts[2].split("_")
        self.inplanes = base
        feat = [input_dim[0] // 4, input_dim[1] // 4]
        self.stem = nn.Sequential(
            nn.Conv2d(3, base // 2, kernel_size=3, stride=2, padding=1, dilation=1, bias=False),
            nn.BatchNorm2d(base // 2, affine=True, track_running_stats=True),
            ReLUConvBN(base // 2, base, 3, 2, 1, 1),
        )
        self.layers: list[str] = []
        for i, ch in enumerate(self.macro_code):
            kind = int(ch)  # channel change: 2, 4; stride change: 3, 4
            target = self.inplanes * 2 if kind % 2 == 0 else self.inplanes
            stride = 2 if kind > 2 else 1
            feat = [feat[0] // stride, feat[1] // stride]
            blocks = []
            for b in range(2):
                s = stride if b == 0 else 1
                blocks.append(
                    ResNetBasicblock(self.inplanes, target, s)
                    if basic
                    else MicroCell(micro_code, self.inplanes, target, s)
                )
                self.inplanes = target
            self.add_module(f"layer{i}", nn.Sequential(*blocks))
            self.layers.append(f"layer{i}")
        self.output_dim = (self.inplanes, *feat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for name in self.layers:
            x = getattr(self, name)(x)
        return x


def official_init(module: nn.Module) -> nn.Module:
    """The official MacroNet re-initialisation: Kaiming-normal (fan_out, relu) convs, BN (1, 0)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    return module


# ----------------------------------------------------------------------------------------------
# decoders (task_models/decoder.py, discriminator.py)


class ConvLayer(nn.Module):
    """Conv (with bias) -> optional BN -> optional activation; ``norm='spectral'`` wraps the conv."""

    def __init__(
        self, c_in: int, c_out: int, k: int, stride: int, padding: int, activation: nn.Module | None, norm: str | None
    ):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding)
        self.norm = nn.BatchNorm2d(c_out) if norm == "batch" else None
        if norm == "spectral":
            self.conv = nn.utils.spectral_norm(self.conv)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return self.activation(x) if self.activation is not None else x


class DeconvLayer(nn.Module):
    """ConvTranspose (output_padding 1, doubles H and W at stride 2) -> BN -> activation."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, padding: int, activation: nn.Module | None):
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, k, stride=stride, padding=padding, output_padding=1)
        self.norm = nn.BatchNorm2d(c_out)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(x))
        return self.activation(x) if self.activation is not None else x


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.2, False)


def _num_upsample(in_dim: Sequence[int], out_width: int) -> int:
    n = int(math.log2(out_width / in_dim[1]))
    if n not in (2, 3, 4, 5, 6):
        raise ValueError(f"invalid num_upsample {n} for encoder output {tuple(in_dim)}")
    return n


class FFDecoder(nn.Module):
    """Global average pool + Linear: classification (class_object/scene) and room_layout."""

    def __init__(self, in_dim: Sequence[int], out_dim: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_dim[0], out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SiameseDecoder(FFDecoder):
    """Jigsaw head: pool + Linear over the 9 concatenated tile features."""

    def __init__(self, in_dim: Sequence[int], out_dim: int, num_pieces: int = 9):
        super().__init__((in_dim[0] * num_pieces,), out_dim)


class SegmentationDecoder(nn.Module):
    """Conv/deconv stack (LeakyReLU 0.2, BN) from the encoder map to ``channels`` x 256 x 256."""

    def __init__(self, in_dim: Sequence[int], target_width: int = 256, channels: int = 17):
        super().__init__()
        n_up = _num_upsample(in_dim, target_width)
        layers: list[nn.Module] = [ConvLayer(in_dim[0], 1024, 3, 1, 1, _leaky(), "batch")]
        c = 1024
        for _ in range(6 - n_up):
            layers.append(ConvLayer(c, c // 2, 3, 1, 1, _leaky(), "batch"))
            c //= 2
        for _ in range(n_up - 1):
            layers.append(DeconvLayer(c, c // 2, 3, 2, 1, _leaky()))
            c //= 2
        layers.append(DeconvLayer(c, c, 3, 2, 1, _leaky()))
        layers.append(ConvLayer(c, channels, 3, 1, 1, None, None))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class GenerativeDecoder(nn.Module):
    """14-layer pix2pix-style decoder to ``channels`` x 256 x 256 with a final Tanh."""

    def __init__(self, in_dim: Sequence[int], target_width: int = 256, channels: int = 3):
        super().__init__()
        n = _num_upsample(in_dim, target_width)

        def conv(a: int, b: int) -> ConvLayer:
            return ConvLayer(a, b, 3, 1, 1, _leaky(), "batch")

        def up_or_conv(a: int, b: int, up: bool) -> nn.Module:
            return DeconvLayer(a, b, 3, 2, 1, _leaky()) if up else conv(a, b)

        self.conv1 = conv(in_dim[0], 1024)
        self.conv2 = conv(1024, 1024)
        self.conv3 = up_or_conv(1024, 512, n == 6)
        self.conv4 = conv(512, 512)
        self.conv5 = up_or_conv(512, 256, n >= 5)
        self.conv6 = conv(256, 128)
        self.conv7 = up_or_conv(128, 64, n >= 4)
        self.conv8 = conv(64, 64)
        self.conv9 = up_or_conv(64, 32, n >= 3)
        self.conv10 = conv(32, 32)
        self.conv11 = DeconvLayer(32, 16, 3, 2, 1, _leaky())
        self.conv12 = conv(16, 32)
        self.conv13 = DeconvLayer(32, 16, 3, 2, 1, _leaky())
        self.conv14 = ConvLayer(16, channels, 3, 1, 1, nn.Tanh(), None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 15):
            x = getattr(self, f"conv{i}")(x)
        return x


class Discriminator(nn.Module):
    """pix2pix conditional discriminator (spectral norm) of the GAN tasks; trained alongside the
    generator but not on the forward path. Kept only so parameter counts can include it."""

    def __init__(self):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        spec = [
            (6, 64, 5, 4, 2),
            (64, 128, 5, 4, 2),
            (128, 256, 5, 4, 2),
            (256, 256, 3, 1, 1),
            (256, 512, 3, 1, 1),
            (512, 512, 3, 1, 1),
        ]
        for i, (a, b, k, s, p) in enumerate(spec, 1):
            setattr(self, f"conv{i}", ConvLayer(a, b, k, s, p, _leaky(), "spectral"))
        self.conv7 = ConvLayer(512, 1, 3, 1, 1, None, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 8):
            x = getattr(self, f"conv{i}")(x)
        return self.avgpool(x).flatten()


# ----------------------------------------------------------------------------------------------
# task models (task_models/feedforward.py, siamese.py, segmentation.py, gan.py)


class TaskNet(nn.Module):
    """``encoder`` -> ``decoder``; ``forward_features`` is the encoder's feature map."""

    def __init__(self, encoder: MacroNet, decoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.forward_features(x))


class SiameseNet(TaskNet):
    """Jigsaw: shared encoder on each of the 9 tiles ``(B, 9, 3, h, w)``, features concatenated
    along channels (tile order), then the SiameseDecoder. ``forward_features`` is that concat."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"jigsaw input must be (B, 9, 3, H, W), got {tuple(x.shape)}")
        return torch.cat([self.encoder(x[:, i]) for i in range(x.shape[1])], dim=1)


class GAN(TaskNet):
    """autoencoder/normal generator (encoder + GenerativeDecoder); ``discriminator`` is attached
    only on request, as it never runs in ``forward``."""

    def __init__(self, encoder: MacroNet, decoder: nn.Module, discriminator: nn.Module | None = None):
        super().__init__(encoder, decoder)
        if discriminator is not None:
            self.discriminator = discriminator


def create_task_model(net_code: str, task: str, *, discriminator: bool = False) -> TaskNet:
    """The official task model of ``task`` with encoder ``net_code`` (``create_model`` of the
    official configs: class_object 75, class_scene 47, room_layout 9, jigsaw 1000, segmentsemantic
    17 channels, normal/autoencoder 3 channels)."""
    enc = MacroNet(net_code)
    dim = enc.output_dim
    if task in ("class_object", "class_scene", "room_layout"):
        out = {"class_object": 75, "class_scene": 47, "room_layout": 9}[task]
        return TaskNet(enc, FFDecoder(dim, out))
    if task == "jigsaw":
        return SiameseNet(enc, SiameseDecoder(dim, 1000, 9))
    if task == "segmentsemantic":
        return TaskNet(enc, SegmentationDecoder(dim, 256, 17))
    if task in ("normal", "autoencoder"):
        return GAN(enc, GenerativeDecoder(dim, 256, 3), Discriminator() if discriminator else None)
    raise ValueError(f"unknown TransNAS-Bench-101 task {task!r}")
