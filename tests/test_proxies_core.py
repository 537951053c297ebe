"""params, flops and synflow: hand-derived values on tiny networks and agreement with NASLib's scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from torch import nn

from zcbench.proxies import ProxyContext, get_proxy
from zcbench.spaces import get_space


def _ctx(shape=(1, 4, 4), classes=2):
    return ProxyContext(None, None, shape, classes)


class TinyConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(2)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(2 * 2 * 2, 3)

    def forward(self, x):
        return self.fc(self.pool(self.bn(self.conv(x))).flatten(1))


def test_params_by_hand():
    """conv 1*2*3*3 = 18, BN 2+2 = 4, fc 8*3+3 = 27 → 49 parameters = 4.9e-5 M."""
    assert get_proxy("params").fn(TinyConvNet(), _ctx()) == pytest.approx(49e-6)


def test_flops_by_hand():
    """conv: 4x4 output positions * 3*3*1*2 = 288; fc: 8*3 + 3 bias = 27; BN and pooling are not
    counted (as NB201's counter) → 315 FLOPs."""
    assert get_proxy("flops").fn(TinyConvNet(), _ctx()) == pytest.approx(315e-6)


def test_synflow_by_hand_two_layer_linear():
    """Two bias-free linear layers with |W|, all-ones input: R = 1ᵀ W2 W1 1. ∂R/∂W1_ij = (W2ᵀ1)_i, so
    Σ|W1 ⊙ ∂R/∂W1| = Σ_ij W2_i W1_ij = R, and likewise for W2: synflow = 2R."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False), nn.Linear(3, 2, bias=False))
    w1, w2 = net[1].weight.detach().abs().double(), net[2].weight.detach().abs().double()
    r = (w2 @ w1 @ torch.ones(4, dtype=torch.float64)).sum().item()
    assert get_proxy("synflow").fn(net, _ctx((1, 2, 2))) == pytest.approx(2 * r, rel=1e-12)


def test_synflow_bypasses_batchnorm():
    """With BN bypassed conv→pool→fc is linear in each weight: R = Σ out = (fc part) + Σ|b_fc|, and by
    Euler's theorem Σ W ⊙ ∂R/∂W over a layer = the part of R that is linear in that layer's weight,
    R − Σ|b_fc| for both conv and fc weights → synflow = 2(R − Σ|b_fc|) (all terms ≥ 0 as θ ≥ 0)."""
    torch.manual_seed(0)
    net = TinyConvNet()
    with torch.no_grad():
        net.bn.weight.fill_(5.0)  # would change the score if BN were not bypassed
    ref = TinyConvNet()
    ref.load_state_dict(net.state_dict())
    ref.bn = nn.Identity()
    got = get_proxy("synflow").fn(net, _ctx())
    ref = ref.double()
    with torch.no_grad():
        for p in ref.parameters():
            p.abs_()
    r = ref(torch.ones(1, 1, 4, 4, dtype=torch.float64)).sum().item()
    bias = ref.fc.bias.abs().sum().item()
    assert got == pytest.approx((r - bias) * 2, rel=1e-10)


def test_synflow_is_deterministic_and_finite_on_nb201():
    sp = get_space("nb201")
    a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    spec = sp.input_spec("cifar10")
    ctx = ProxyContext(None, None, spec.shape, spec.num_classes)
    vals = []
    for _ in range(2):
        torch.manual_seed(3)
        vals.append(get_proxy("synflow").fn(sp.build(a, "cifar10"), ctx))
    assert vals[0] == vals[1] and np.isfinite(vals[0]) and vals[0] > 0


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "ImageNet16-120"])
def test_synflow_agrees_with_naslib(shared_data, dataset):
    """NASLib's published synflow (log-transformed) on the same architectures: Spearman ≥ 0.99, and our
    synflow-vs-validation-accuracy Spearman within 0.02 of NASLib's."""
    df = pd.read_csv(shared_data / "naslib-zc" / f"nb201_{dataset}.csv")
    sp = get_space("nb201")
    spec = sp.input_spec(dataset)
    ctx = ProxyContext(None, None, spec.shape, spec.num_classes)
    ours = []
    for i, a in enumerate(df["arch"]):
        torch.manual_seed(i)
        ours.append(get_proxy("synflow").fn(sp.build(sp.parse(a), dataset), ctx))
    ours = np.array(ours)
    assert stats.spearmanr(ours, df["synflow"]).statistic >= 0.99
    rho_ours = stats.spearmanr(ours, df["val_accuracy"]).statistic
    rho_naslib = stats.spearmanr(df["synflow"], df["val_accuracy"]).statistic
    assert abs(rho_ours - rho_naslib) <= 0.02


def test_flops_equals_dump_flop_for_arch0():
    """NB201's dump: arch 0 has flop = 15.64737 MFLOPs on cifar10-valid, 3.91948 on ImageNet16-120."""
    sp = get_space("nb201")
    a = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    for ds, want in (("cifar10", 15.64737), ("ImageNet16-120", 3.91948)):
        spec = sp.input_spec(ds)
        assert get_proxy("flops").fn(
            sp.build(a, ds), ProxyContext(None, None, spec.shape, spec.num_classes)
        ) == pytest.approx(want, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["cifar10", "ImageNet16-120"])
def test_flops_rank_agrees_with_naslib(shared_data, dataset):
    """NASLib's ``flops`` column is its own count (it adds pooling and BN terms the dump's ``flop`` leaves
    out), so values differ but ranks agree: Spearman ≥ 0.99."""
    df = pd.read_csv(shared_data / "naslib-zc" / f"nb201_{dataset}.csv")
    sp = get_space("nb201")
    spec = sp.input_spec(dataset)
    ctx = ProxyContext(None, None, spec.shape, spec.num_classes)
    ours = [get_proxy("flops").fn(sp.build(sp.parse(a), dataset), ctx) for a in df["arch"]]
    assert stats.spearmanr(ours, df["flops"]).statistic >= 0.99
