"""Each proxy against a value derived by hand on a two- or three-layer network (derivations in the
docstrings). A linear loss L = (1/N) Σ_n t_n·y_n is passed as ``ctx.loss_fn`` so gradients are exact
small numbers; that is also how non-classification tasks reach the proxies."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from zcbench.proxies import ProxyContext, get_proxy
from zcbench.proxies.epe_nas import epe_from
from zcbench.proxies.runner import compute_one, compute_scores

K = 1e-5


def linear_loss(y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (y * t).sum() / y.shape[0]


def two_layer(w1, w2) -> nn.Module:
    net = nn.Sequential(
        nn.Linear(len(w1[0]), len(w1), bias=False), nn.ReLU(), nn.Linear(len(w2[0]), len(w2), bias=False)
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(w1, dtype=torch.float32))
        net[2].weight.copy_(torch.tensor(w2, dtype=torch.float32))
    return net


# x = (1, 2); W1 = [[1,0],[0,-1]] → h = (1,-2), r = relu(h) = (1,0); W2 = [[2,3],[1,1]] → y = (2,1);
# t = (1,-1), L = t·y.  dL/dy = t;  G2 = t rᵀ = [[1,0],[-1,0]];  dL/dr = W2ᵀt = (1,2);
# dL/dh = (1,0) (ReLU mask m = (1,0));  G1 = (dL/dh) xᵀ = [[1,2],[0,0]].
W1, W2 = [[1.0, 0.0], [0.0, -1.0]], [[2.0, 3.0], [1.0, 1.0]]
X, T = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, -1.0]])


def ctx_lin(**kw) -> ProxyContext:
    return ProxyContext(X, T, (2,), 2, loss_fn=linear_loss, task="regression", **kw)


def score(name: str, net: nn.Module, ctx: ProxyContext) -> float:
    return get_proxy(name).fn(net, ctx)


def test_grad_norm_by_hand():
    """‖G1‖ + ‖G2‖ = √(1+4) + √(1+1) = √5 + √2."""
    assert score("grad_norm", two_layer(W1, W2), ctx_lin()) == pytest.approx(math.sqrt(5) + math.sqrt(2), rel=1e-6)


def test_snip_by_hand_and_mask_form():
    """Σ|W⊙G|: W1⊙G1 = [[1,0],[0,0]] → 1; W2⊙G2 = [[2,0],[-1,0]] → 3; snip = 4. Also equals Samsung's
    form Σ|∂L/∂mask| with a mask parameter multiplying each weight."""
    assert score("snip", two_layer(W1, W2), ctx_lin()) == pytest.approx(4.0)
    net = two_layer(W1, W2)
    masks = []
    for layer in (net[0], net[2]):
        layer.weight.requires_grad_(False)
        layer.weight_mask = nn.Parameter(torch.ones_like(layer.weight))
        layer.forward = types.MethodType(lambda self, x: F.linear(x, self.weight * self.weight_mask), layer)
        masks.append(layer.weight_mask)
    linear_loss(net(X), T).backward()
    assert sum(m.grad.abs().sum().item() for m in masks) == pytest.approx(4.0)


def test_plain_by_hand():
    """Σ W⊙G = 1 + (2 − 1) = 2 (signed)."""
    assert score("plain", two_layer(W1, W2), ctx_lin()) == pytest.approx(2.0)


def test_fisher_by_hand():
    """Layer outputs a and their gradients g: layer 1 a = h = (1,−2), g = (1,0) → a·g = (1,0),
    ½(a·g)² = (0.5, 0) broadcast over 2 inputs → 1; layer 2 a = y = (2,1), g = t = (1,−1) → (2,−1),
    ½(·)² = (2, 0.5) ×2 → 5. fisher = 6."""
    assert score("fisher", two_layer(W1, W2), ctx_lin()) == pytest.approx(6.0)


def test_grasp_by_hand():
    """z = Σ G1⊙∇W1L + G2⊙∇W2L with G fixed. ∇W2L = t rᵀ depends on W1 through r; ∇W1L = (m⊙W2ᵀt)xᵀ on W2.
    (Hg)_W2[a,b] = t_a m_b Σ_l G1[b,l] x_l = t_a m_b·5 → [[5,0],[−5,0]];
    (Hg)_W1[c,d] = m_c x_d Σ_i G2[i,c] t_i = 2 m_c x_d → [[2,4],[0,0]].
    grasp = −Σ W⊙Hg = −(2 + (10 − 5)) = −7."""
    assert score("grasp", two_layer(W1, W2), ctx_lin()) == pytest.approx(-7.0)


# Three samples through Linear(3,3)=I, ReLU, Linear(3,1)=[1,1,1]: y = Σ relu(x), J_n = 1[x_n > 0].
X3 = torch.tensor([[1.0, 1.0, -1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]])


def relu_sum_net() -> nn.Module:
    return two_layer(np.eye(3).tolist(), [[1.0, 1.0, 1.0]])


def test_jacov_by_hand():
    """J = (1,1,0), (1,0,1), (0,1,1): centred rows (1,1,−2)/3 etc., pairwise correlation −½; C = [[1,−½,−½],…]
    has eigenvalues 1.5, 1.5, 0 → score = −[2(log(1.5+k) + 1/(1.5+k)) + log k + 1/k]."""
    ctx = ProxyContext(X3, None, (3,), 1)
    want = -(2 * (math.log(1.5 + K) + 1 / (1.5 + K)) + math.log(K) + 1 / K)
    assert score("jacov", relu_sum_net(), ctx) == pytest.approx(want, rel=1e-6)


def test_epe_nas_by_hand():
    """Labels (0,0,1): class 0 has J1, J2 with correlation −½ → s0 = 2 log(1+k) + 2 log(½+k); class 1 has one
    sample (corrcoef = 1) → s1 = log(1+k). One logit (≤ 100 classes) → score = |s0| + |s1|."""
    ctx = ProxyContext(X3, torch.tensor([0, 0, 1]), (3,), 1)
    s0 = 2 * math.log(1 + K) + 2 * math.log(0.5 + K)
    assert score("epe_nas", relu_sum_net(), ctx) == pytest.approx(abs(s0) + abs(math.log(1 + K)), rel=1e-6)


def test_epe_nas_more_than_100_classes_rule():
    """K > 100: s_c is divided by its matrix size and score = Σ_c Σ_c' |s_c − s_c'| / #classes. Two classes
    with correlations ρ_a = 1 and ρ_b = −½ (2 samples each): s_a = 2 log(1+k), s_b = log(1+k) + log(½+k);
    score = 2|s_a − s_b| / 2. A one-sample class is skipped under this rule."""
    jac = np.array([[1.0, 2, 3], [2.0, 4, 6], [1.0, 1, 0], [1.0, 0, 1], [5.0, 1, 2]])
    labels = np.array([0, 0, 1, 1, 2])
    sa, sb = 2 * math.log(1 + K), math.log(1 + K) + math.log(0.5 + K)
    assert epe_from(jac, labels, 120) == pytest.approx(abs(sa - sb), rel=1e-9)


def test_epe_nas_more_than_100_classes_all_singletons_is_nan_not_zero():
    """K > 100 and every class has one sample: all are skipped and NASLib's ``score /= len(...)`` divides
    by zero (caught → NaN). Under K ≤ 100 the same batch is valid: 3·log(1+k)."""
    jac = np.array([[1.0, 2, 3], [1.0, 0, 1], [5.0, 1, 2]])
    labels = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="two samples"):
        epe_from(jac, labels, 120)
    assert epe_from(jac, labels, 10) == pytest.approx(3 * math.log(1 + K), rel=1e-9)
    # through the runner (a 120-logit head): a NaN with the reason, never a stored 0.
    net = two_layer(np.eye(3).tolist(), np.ones((120, 3)).tolist())
    res = compute_one("epe_nas", lambda: net, ProxyContext(X3, torch.tensor([0, 1, 2]), (3,), 120))
    assert math.isnan(res.score) and "two samples" in res.error


def test_nwot_by_hand():
    """ReLU inputs are x (W1 = I): codes (1,1,0), (1,0,1), (0,1,1); K_ij = agreements: 3 on the diagonal,
    1 off it; det [[3,1,1],[1,3,1],[1,1,3]] = 20 → log 20."""
    assert score("nwot", relu_sum_net(), ProxyContext(X3, None, (3,), 1)) == pytest.approx(math.log(20))


def test_l2_norm_by_hand():
    """‖I₃‖ + ‖(1,1,1)‖ = √3 + √3."""
    assert score("l2_norm", relu_sum_net(), ProxyContext(None, None, (3,), 1)) == pytest.approx(2 * math.sqrt(3))


class ConvBnHead(nn.Module):
    """Conv2d(1→2, 1×1) → BN2d → ReLU → global average → Linear(2→1)."""

    def __init__(self, w=(0.7, -1.3), beta=(0.5, -2.0), w2=(3.0, -1.0)):
        super().__init__()
        self.conv, self.bn, self.fc = nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2), nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(w).view(2, 1, 1, 1))
            self.bn.bias.copy_(torch.tensor(beta))
            self.fc.weight.copy_(torch.tensor([w2]))

    def forward_features(self, x):
        return torch.relu(self.bn(self.conv(x)))

    def forward(self, x):
        return self.fc(self.forward_features(x).mean((2, 3)))


def test_synflow_bn_by_hand():
    """All-ones input → the conv output is constant over pixels, so train-mode BN outputs exactly |β_c|
    (zero variance) and passes no gradient to the conv: R = Σ_c |W2_c||β_c| and
    synflow_bn = Σ_c |W2_c|·|β_c| = 3·0.5 + 1·2 = 3.5 (BN bypassed would instead give 2Σ|W2_c||w_c|)."""
    assert score("synflow_bn", ConvBnHead(), ProxyContext(None, None, (1, 2, 2), 1)) == pytest.approx(3.5)


def test_zen_by_hand_with_the_same_draws():
    """Draw order (generator seeded with ctx.seed): conv weight, fc weight N(0,1) (BN → weight 1, bias 0), x, ε.
    f = ReLU(BN(conv)) in train mode. score = log(mean_n Σ|f(x) − f(x+γε)|) + Σ_c log √(mean rv) with
    rv = 0.9·(0.9·1 + 0.1·v(x)) + 0.1·v(x+γε) per channel (unbiased batch variances, momentum 0.1)."""
    ctx = ProxyContext(None, None, (1, 3, 3), 1, seed=7, options={"zen_batch": 4})
    got = score("zen", ConvBnHead(), ctx)
    g = torch.Generator().manual_seed(7)
    w = torch.empty(2, 1, 1, 1)
    nn.init.normal_(w, generator=g)
    nn.init.normal_(torch.empty(1, 2), generator=g)  # the head's weight (not used by forward_features)
    x = torch.randn((4, 1, 3, 3), generator=g)
    eps = torch.randn((4, 1, 3, 3), generator=g)

    def f(inp):
        c = F.conv2d(inp, w)
        mu, var = c.mean((0, 2, 3), keepdim=True), c.var((0, 2, 3), unbiased=False, keepdim=True)
        return torch.relu((c - mu) / torch.sqrt(var + 1e-5)), c.var((0, 2, 3), unbiased=True)

    (a, v1), (b, v2) = f(x), f(x + 1e-2 * eps)
    rv = 0.9 * (0.9 + 0.1 * v1) + 0.1 * v2
    want = math.log((a - b).abs().sum((1, 2, 3)).mean()) + math.log(math.sqrt(rv.mean()))
    assert got == pytest.approx(want, rel=1e-5)


class SwapNet(nn.Module):
    """Conv2d(1→1, 1×1, bias) → ReLU (4-D input, hooked) → flatten → Linear(4→2) → ReLU (2-D, not hooked)."""

    def __init__(self):
        super().__init__()
        self.conv, self.r1, self.fc, self.r2 = nn.Conv2d(1, 1, 1), nn.ReLU(), nn.Linear(4, 2), nn.ReLU()

    def forward(self, x):
        return self.r2(self.fc(self.r1(self.conv(x)).flatten(1)))


def test_swap_and_reg_swap_by_hand():
    """Re-init zeroes the conv bias, so ReLU(w·x) > 0 ⇔ sign(w) = sign(x). Samples over 4 pixels:
    (+,+,−,+), (+,+,+,−), (−,−,+,+): per-pixel patterns 110, 110, 011, 101 for w > 0 and their complements
    for w < 0 — 3 distinct either way, for every re-init: swap = 3. reg_swap with 2+10 = 12 parameters,
    μ = 0, σ = 1: 3·exp(−0.012²)."""
    x = torch.tensor([[1, 2, -1, 3], [2, 1, 1, -2], [-1, -3, 2, 1]], dtype=torch.float32).view(3, 1, 2, 2)
    ctx = ProxyContext(x, None, (1, 2, 2), 2, options={"swap_repeats": 5, "reg_swap_mu": 0, "reg_swap_sigma": 1})
    assert score("swap", SwapNet(), ctx) == 3.0
    assert score("reg_swap", SwapNet(), ctx) == pytest.approx(3 * math.exp(-(0.012**2)), rel=1e-12)
    res = compute_one("reg_swap", SwapNet, ProxyContext(x, None, (1, 2, 2), 2))
    assert math.isnan(res.score) and "reg_swap_mu" in res.error


def test_meco_by_hand():
    """One sample, 2 channels × 3 pixels a = (1,2,3), b = (1,3,2): corr = ½ → λ_min = ½. Hooks fire on the
    1×1 identity conv, the ReLU and the root Sequential (all output (a, b)): meco = 3·½."""
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(2).view(2, 2, 1, 1))
    net = nn.Sequential(conv, nn.ReLU())
    x = torch.tensor([[1.0, 2, 3], [1.0, 3, 2]]).view(1, 2, 1, 3)
    x = torch.cat([x, -x])  # only the first sample is used
    assert score("meco", net, ProxyContext(x, None, (2, 1, 3), 2)) == pytest.approx(1.5, rel=1e-6)


def test_zico_by_hand():
    """Linear(2→1), L = t·y. Piece 1 x = (1,2) → g1 = (1,2); piece 2 x = (3,−1) → g2 = (3,−1); no zero_grad
    between pieces, so the recorded gradients are g1 and g1+g2 = (4,1). mean|·| = (2.5, 1.5), population
    std = |g2|/2 = (1.5, 0.5) → Σ mean/std = 5/3 + 3 = 14/3 → zico = log(14/3)."""
    net = nn.Linear(2, 1, bias=False)
    ctx = ProxyContext(torch.tensor([[1.0, 2.0], [3.0, -1.0]]), torch.ones(2, 1), (2,), 1, loss_fn=linear_loss)
    assert score("zico", net, ctx) == pytest.approx(math.log(14 / 3), rel=1e-6)


def test_vote_stores_nothing_and_requires_its_inputs():
    """vote declares synflow, jacov, snip as inputs: compute_scores returns those three and no 'vote'."""
    spec = get_proxy("vote")
    assert spec.inputs == ("synflow", "jacov", "snip")
    ctx = ProxyContext(X3, torch.tensor([[1.0], [0.5], [-1.0]]), (3,), 1, loss_fn=linear_loss)
    res = compute_scores(["vote"], relu_sum_net, ctx)
    assert list(res) == ["synflow", "jacov", "snip"]
    assert all(math.isfinite(r.score) for r in res.values())
    assert math.isnan(compute_one("vote", relu_sum_net, ctx).score)


@pytest.mark.parametrize("n", [1, 3, 16, 20, 24, 30])
def test_swap_count_matches_the_reference_unique(n):
    """The block-wise bit codes count exactly what SWAP's reference counts,
    ``torch.unique(sign(cat(blocks, 1)).t(), dim=0).size(0)``: post-ReLU blocks of several shapes (with
    neurons repeated across blocks, and an empty block), and a block with negative values (general path)."""
    from zcbench.proxies.swap import count_patterns

    g = torch.Generator().manual_seed(n)
    blocks = [torch.relu(torch.randn(n, c, h, h, generator=g)) for c, h in ((2, 3), (4, 2), (1, 5))]
    blocks.append(blocks[0][:, :1].clone())  # the same neurons again: no new pattern
    blocks.append(torch.zeros(n, 0))

    def ref(bs):
        return torch.unique(torch.sign(torch.cat([b.reshape(n, -1) for b in bs], 1)).t(), dim=0).size(0)

    assert count_patterns(blocks) == ref(blocks)
    signed = blocks[:2] + [torch.randn(n, 7, generator=g)]
    assert count_patterns(signed) == ref(signed)
    with pytest.raises(FloatingPointError):
        count_patterns([torch.full((n, 2), float("nan"))])
