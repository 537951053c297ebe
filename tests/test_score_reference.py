"""Build once, restore for each proxy: every built-in proxy on every registered space gives the scores
recorded before that path existed (``score_reference.REFERENCE``), bit for bit, and the same as a fresh
network per proxy (``compute_one``)."""

from __future__ import annotations

import pytest
from score_reference import BATCH, OPTIONS, REFERENCE, SLOW, TINY, archs, batch, encode, maker

from zcbench.proxies import PROXIES, ProxyContext
from zcbench.proxies.runner import compute_one, compute_scores
from zcbench.spaces import get_space


def builtin_proxies() -> list[str]:
    return [n for n in PROXIES.names() if PROXIES.get(n).builtin and not PROXIES.get(n).inputs]


def context(space: str, make) -> ProxyContext:
    sp = get_space(space)
    dataset, _, hw = TINY[space]
    spec = sp.input_spec(dataset)
    x, y = batch(space, make)
    ctx = ProxyContext(x, y, (3, hw, hw), spec.num_classes, loss_fn=sp.loss_fn(dataset), task=spec.task, seed=11)
    ctx.options = dict(OPTIONS)
    if hasattr(ctx, "batch_size"):
        ctx.batch_size = BATCH
    else:  # before the batch size was a field of the context
        ctx.options["batch_size"] = BATCH
    return ctx


def scores_now(space: str, arch: str, fresh: bool, names: list[str] | None = None) -> dict[str, str]:
    """{proxy: float.hex()} of ``names`` (default every built-in): one fresh network per proxy, or
    ``compute_scores``."""
    make = maker(space, arch)
    ctx = context(space, make)
    names = builtin_proxies() if names is None else names
    if fresh:
        res = {n: compute_one(n, make, ctx) for n in names}
    else:
        res = compute_scores(names, make, ctx)
    return {n: encode(r.score) for n, r in res.items()}


CASES = [
    pytest.param(space, i, marks=[pytest.mark.slow] if space in SLOW else [])
    for space in sorted(TINY)
    for i in range(len(archs(space)))
]


@pytest.mark.parametrize(("space", "i"), CASES)
def test_scores_equal_the_recorded_ones(space, i):
    arch = archs(space)[i]
    recorded = REFERENCE[space][i]
    shared = scores_now(space, arch, fresh=False)
    assert {n: shared[n] for n in recorded} == recorded
    # proxies registered after the recording: the same as one fresh network per proxy
    new = [n for n in shared if n not in recorded]
    assert {n: shared[n] for n in new} == scores_now(space, arch, fresh=True, names=new)


@pytest.mark.parametrize("space", ["nb201", "nb301"])
def test_one_fresh_network_per_proxy_gives_the_recorded_scores(space):
    """``compute_one`` (the reference path) still builds a fresh network per proxy and agrees."""
    assert scores_now(space, archs(space)[0], fresh=True, names=list(REFERENCE[space][0])) == REFERENCE[space][0]
