#!/usr/bin/env python
"""Time SWAP's pattern count on real NB201 post-ReLU activations: zcbench's block-wise bit codes
(``zcbench.proxies.swap.count_patterns``) against the reference's ``torch.unique(sign(cat(...)).t(),
dim=0)`` and against counting the concatenated matrix, checking that all three agree.

    python scripts/bench_swap_count.py [--archs 3] [--repeats 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import functools
import time

import torch
from torch import nn

from zcbench.proxies.swap import count_patterns
from zcbench.proxies.utils import gaussian_init_, seeded_generator
from zcbench.spaces import get_space


def activations(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    feats: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: feats.append(o.detach()) if i[0].dim() == 4 else None)
        for m in net.modules()
        if isinstance(m, nn.ReLU)
    ]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return feats


def unique_rows(cat: torch.Tensor) -> int:
    """The reference count: ``torch.unique`` over the sign matrix's rows (per-neuron patterns)."""
    return torch.unique(torch.sign(cat).t(), dim=0).size(0)


def timed(fn, repeats: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    for _ in range(repeats):
        value = fn()
    return (time.perf_counter() - t0) / repeats, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=32, help="timed calls per architecture (SWAP's re-inits)")
    ap.add_argument("--reference-repeats", type=int, default=2, help="timed calls of the slow reference")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sp = get_space("nb201")
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    print(f"{'architecture':<90} {'blocks s':>9} {'concat s':>9} {'unique s':>9}  count")
    for arch in sp.sample(a.archs, 0):
        net = sp.build(arch, "cifar10").train()
        gaussian_init_(net, seeded_generator(0))  # SWAP's N(0, 1) re-init
        feats = activations(net, x)
        cat = torch.cat([f.reshape(len(x), -1) for f in feats], 1)
        t_blocks, c1 = timed(functools.partial(count_patterns, feats), a.repeats)
        t_cat, c2 = timed(functools.partial(count_patterns, [cat]), a.repeats)
        t_ref, c3 = timed(functools.partial(unique_rows, cat), a.reference_repeats)
        assert c1 == c2 == c3, (c1, c2, c3)
        print(f"{arch:<90} {t_blocks:9.4f} {t_cat:9.4f} {t_ref:9.4f}  {c1}")


if __name__ == "__main__":
    main()
