"""Every proxy on NB201 networks with synthetic images; agreement with NASLib's published scores."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from zcbench.proxies import PROXIES, ProxyContext, get_proxy, select_proxies
from zcbench.proxies.runner import compute_scores
from zcbench.spaces import get_space

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|none~2|",
]


@pytest.mark.parametrize("arch", ARCHS)
def test_every_proxy_finite_on_nb201(arch):
    """Full-width NB201 (C=16, N=5), 8 synthetic 16×16 images (the net pools globally), reduced repeats."""
    sp = get_space("nb201")

    def make_net():
        torch.manual_seed(0)
        return sp.build(arch, "cifar10")

    g = torch.Generator().manual_seed(1)
    ctx = ProxyContext(
        torch.randn(8, 3, 16, 16, generator=g),
        torch.randint(0, 10, (8,), generator=g),
        (3, 16, 16),
        10,
        options={
            "swap_repeats": 2,
            "zen_batch": 4,
            "reg_swap_mu": 800.0,
            "reg_swap_sigma": 1e5,
            "az_batch": 8,
            "lr_batch": 8,
        },
    )
    names = select_proxies(["all"], ctx.options).names
    assert "reg_swap" in names  # its options are given
    res = compute_scores(names, make_net, ctx)
    assert "vote" not in res
    for n, r in res.items():
        assert math.isfinite(r.score), (n, r.error)


def _naslib(shared_data: Path, dataset: str, n: int = 80) -> pd.DataFrame:
    df = pd.read_csv(shared_data / "naslib-zc" / f"nb201_{dataset}.csv")
    return df.iloc[:n]


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_l2_norm_matches_naslib(shared_data, dataset):
    """Data-free: l2_norm at PyTorch default init against NASLib's column on 80 archs. The value of an
    architecture is fixed by its layer shapes up to init noise (~0.5%), so per-architecture values must
    agree within 2% and Pearson r ≥ 0.9999. Spearman cannot reach 0.99: many architectures share the
    same layer set, and their order is init noise — our own seed-to-seed Spearman is ≈ 0.94, and ours
    vs NASLib's is the same (≥ 0.9 asserted). NASLib's draw cannot be replayed: its published values
    are not an additive function of the chosen edge ops (residuals up to ~1 of a 28–283 range, so the
    weights are not one shared supernet's), while cifar100 − cifar10 is one of five constants (3.906,
    3.936, 3.941, 4.112, 4.174) for all 235 archs — the same cell weights per arch in both runs, drawn
    from a global RNG stream carried across each evaluation chunk, whose order is not published."""
    df = _naslib(shared_data, dataset)
    sp = get_space("nb201")
    ours = []
    for i, arch in enumerate(df["arch"]):
        torch.manual_seed(i)
        ours.append(get_proxy("l2_norm").fn(sp.build(arch, dataset), ProxyContext(None, None, (3, 32, 32), 10)))
    ours, theirs = np.array(ours), df["l2_norm"].to_numpy()
    assert np.max(np.abs(ours / theirs - 1)) < 0.02
    assert stats.pearsonr(ours, theirs)[0] >= 0.9999
    assert stats.spearmanr(ours, theirs).correlation >= 0.9


def test_synflow_bn_is_data_free_and_differs_from_synflow():
    """synflow_bn keeps BN (train mode on the all-ones sample), so it is not synflow."""
    spec = get_proxy("synflow_bn")
    assert spec.data_free and spec.float64
    net = get_space("nb201").build(ARCHS[0], "cifar10", C=4, N=1)
    c = ProxyContext(None, None, (3, 8, 8), 10)
    import copy

    a = spec.fn(copy.deepcopy(net), c)
    if "synflow" in PROXIES:
        assert a != get_proxy("synflow").fn(copy.deepcopy(net), c)
    assert math.isfinite(a) and a > 0


def test_declared_needs():
    """Data-free proxies run without images; label users declare it; epe_nas needs a head."""
    for n in ("l2_norm", "synflow_bn", "zen"):
        assert not get_proxy(n).images
    for n in ("grad_norm", "snip", "grasp", "fisher", "plain", "zico", "epe_nas"):
        assert get_proxy(n).labels
    assert get_proxy("epe_nas").head
    assert all(get_proxy(n).paper for n in PROXIES.names())


def test_fisher_and_nwot_equal_the_reference_mechanisms_on_nb201():
    """Where our mechanism differs from the reference's, the value must not: fisher intercepts (a, ∂L/∂a)
    with a tensor hook instead of Samsung's identity ``dummy`` module with a backward hook, and nwot
    selects hooks by ``type(m).__name__`` instead of NASLib's ``'ReLU' in str(type(m))`` (both hook
    ReLUConvBN as well as its inner ReLU). A small NB201 net (C=4, N=1), 12 images of 8×8."""
    import types

    import torch.nn.functional as F
    from torch import nn

    from zcbench.spaces.nb201 import parse_arch_string
    from zcbench.spaces.nb201_model import TinyNetwork

    arch = parse_arch_string(ARCHS[0])

    def make():
        torch.manual_seed(3)
        return TinyNetwork(arch, 10, C=4, N=1)

    g = torch.Generator().manual_seed(5)
    x, t = torch.randn(12, 3, 8, 8, generator=g), torch.randint(0, 10, (12,), generator=g)
    ctx = ProxyContext(x, t, (3, 8, 8), 10)

    # Samsung measures/fisher.py (channel mode), forward replaced so the output passes a hooked Identity.
    net = make()
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]

    def fwd(self, inp):
        out = (
            F.conv2d(inp, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
            if isinstance(self, nn.Conv2d)
            else F.linear(inp, self.weight, self.bias)
        )
        self.act = self.dummy(out)
        return self.act

    def hook_factory(layer):
        def hook(module, grad_input, grad_output):
            act, grad = layer.act.detach(), grad_output[0].detach()
            g_nk = torch.sum(act * grad, list(range(2, act.dim()))) if act.dim() > 2 else act * grad
            layer.fisher = g_nk.pow(2).mean(0).mul(0.5)

        return hook

    for m in layers:
        m.dummy = nn.Identity()
        m.forward = types.MethodType(fwd, m)
        m.dummy.register_full_backward_hook(hook_factory(m))
    F.cross_entropy(net(x), t).backward()
    want = sum(m.fisher.abs().sum().item() * int(np.prod(m.weight.shape[1:])) for m in layers)
    assert get_proxy("fisher").fn(make(), ctx) == pytest.approx(want, rel=1e-5)

    # NASLib measures/nwot.py
    net, K = make(), [np.zeros((12, 12))]

    def count(module, inp, out):
        c = (inp[0].view(inp[0].size(0), -1) > 0).float()
        K[0] = K[0] + (c @ c.t()).numpy() + ((1.0 - c) @ (1.0 - c.t())).numpy()

    for m in net.modules():
        if "ReLU" in str(type(m)):
            m.register_forward_hook(count)
    net(x)
    assert get_proxy("nwot").fn(make(), ctx) == np.linalg.slogdet(K[0])[1]
