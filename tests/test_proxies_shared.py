"""Shared passes give the same scores as one proxy at a time; failures become NaN with a reason."""

from __future__ import annotations

import math

import pytest
import torch

from zcbench.proxies import PROXIES, ProxyContext, select_proxies
from zcbench.proxies import shared_passes as _shared
from zcbench.proxies.runner import compute_one, compute_scores, expand_names
from zcbench.spaces import get_space

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def make_net():
    """A small NB201 TinyNetwork (C=4, N=1), seeded so every call gives the same weights."""
    torch.manual_seed(3)
    return get_space("nb201").build(ARCH, "cifar10", C=4, N=1)


def ctx(batch: int = 8, **kw) -> ProxyContext:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 16, 16, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    opts = {"swap_repeats": 3, "reg_swap_mu": 20.0, "reg_swap_sigma": 500.0, "zen_batch": 4}
    return ProxyContext(x, y, (3, 16, 16), 10, seed=5, options=opts, **kw)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_shared_scores_identical_to_one_at_a_time():
    """Every proxy (groups: grad_norm/snip/plain/fisher/grasp/jacov/epe_nas/nwot, swap/reg_swap, the AZ-NAS
    components with flops, gradsign/knas); vote, az_nas and te_nas have no value of their own."""
    c = ctx()
    names = [n for n in select_proxies(["all"], c.options).names if not PROXIES.get(n).inputs]
    alone = {n: compute_one(n, make_net, c) for n in names}
    shared = compute_scores(names, make_net, c)
    assert list(shared) == names
    for n in names:
        assert same(alone[n].score, shared[n].score), (n, alone[n], shared[n])
        assert math.isfinite(shared[n].score), (n, shared[n].error)


@pytest.mark.parametrize("subset", [["grad_norm", "grasp"], ["jacov", "nwot"], ["fisher", "epe_nas", "snip"]])
def test_partial_groups_identical(subset):
    c = ctx()
    shared = compute_scores(subset, make_net, c)
    for n in subset:
        assert shared[n].score == compute_one(n, make_net, c).score


def test_split_data_falls_back_and_stays_close():
    """With split_data = 2 (what an OOM retry does) no shared pass is used; the split reference
    computations accumulate gradients over pieces and stay close to the unsplit values (BN statistics
    are per piece, so not equal)."""
    c1, c2 = ctx(), ctx(split_data=2)
    a = compute_scores(["grad_norm", "snip", "jacov"], make_net, c1)
    b = compute_scores(["grad_norm", "snip", "jacov"], make_net, c2)
    for n in ("grad_norm", "snip"):
        assert math.isfinite(b[n].score) and b[n].score != a[n].score
        assert b[n].score == pytest.approx(a[n].score * 2, rel=0.6)  # sum of two piece means ≈ 2× the mean


def test_failed_shared_pass_falls_back_to_each_proxy(monkeypatch):
    """An (OOM-like) failure of the shared pass leaves each member to compute_one."""

    def boom(names, net, c):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(_shared, "GROUPS", ((frozenset({"grad_norm", "snip"}), boom),))
    c = ctx()
    res = compute_scores(["grad_norm", "snip"], make_net, c)
    assert res["snip"].score == compute_one("snip", make_net, c).score


def test_missing_labels_is_nan_with_reason_not_a_crash():
    c = ProxyContext(ctx().inputs, None, (3, 16, 16), 10)
    res = compute_scores(["grad_norm", "snip", "jacov"], make_net, c)
    assert math.isnan(res["grad_norm"].score) and "targets" in res["grad_norm"].error
    assert math.isfinite(res["jacov"].score)


def test_non_finite_member_is_nan_with_reason():
    """Identical inputs give identical Jacobians: corrcoef is singular; jacov's log(0 + k) stays finite but
    nwot's kernel is singular → log det = −inf → NaN with a reason, while the others are unaffected."""
    x = torch.ones(4, 3, 16, 16)
    c = ProxyContext(x, torch.zeros(4, dtype=torch.long), (3, 16, 16), 10)
    res = compute_scores(["nwot", "grad_norm"], make_net, c)
    assert math.isnan(res["nwot"].score) and "non-finite" in res["nwot"].error
    assert math.isfinite(res["grad_norm"].score)


def test_expand_names_vote():
    assert expand_names(["snip", "vote"]) == ["snip", "synflow", "jacov"]
