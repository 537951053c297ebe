"""Scoring one architecture of a run, deterministically, in whatever process runs it.

A score depends only on the run's settings and the architecture: the network's initial weights come
from a seed derived from the run seed and the arch (:func:`arch_seed`), and the minibatch from the run
seed, so scores do not depend on workers, their order or a resume.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

from ..proxies import ProxyContext
from ..proxies.meter import Meter
from ..proxies.runner import compute_scores
from ..settings import RunSettings
from ..spaces import get_space


def arch_seed(seed: int, arch: str) -> int:
    """A 31-bit seed for one architecture's weights, independent of order and workers."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{arch}".encode()).digest()[:4], "big") & 0x7FFFFFFF


class ArchScorer:
    """Scores architectures of one run on one device: the minibatch is built once."""

    def __init__(self, settings: RunSettings, device: str = "cpu") -> None:
        self.settings = settings
        self.space = get_space(settings.space)
        self.spec = self.space.input_spec(settings.dataset)
        self.device = torch.device(device)
        if self.device.type == "cuda":  # as the reference scripts: reproducible cuDNN kernels
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        self.inputs = self.targets = None
        if settings.needs_images:
            x, y = settings.make_batch(self.space)
            self.inputs, self.targets = x.to(self.device), y.to(self.device)

    def make_net(self, arch: str):
        """A builder of ``arch``'s network at its seeded initialisation (the same weights on every call)."""
        aseed = arch_seed(self.settings.seed, arch)
        variant = self.settings.variant

        def make() -> torch.nn.Module:
            torch.manual_seed(aseed)
            if variant:
                return self.space.build(arch, self.settings.dataset, variant=variant)
            return self.space.build(arch, self.settings.dataset)

        return make

    def context(self, arch: str) -> ProxyContext:
        return ProxyContext(
            inputs=self.inputs,
            targets=self.targets,
            input_shape=tuple(self.spec.shape),
            num_classes=self.spec.num_classes,
            loss_fn=self.space.loss_fn(self.settings.dataset),
            task=self.spec.task,
            seed=arch_seed(self.settings.seed, arch),
            device=self.device,
            options=self.settings.context_options(),
            batch_size=self.settings.batch_size,
        )

    def results(self, arch: str, proxies: Sequence[str], share: bool = True, meter: Meter | None = None):
        """{proxy: ProxyResult} for one architecture (one network build, the run's out-of-memory policy)."""
        return compute_scores(
            list(proxies), self.make_net(arch), self.context(arch), share=share,
            split_on_oom=self.settings.oom == "split", meter=meter,
        )  # fmt: skip

    def score(self, arch: str, proxies: Sequence[str], share: bool = True) -> dict[str, tuple[float, float, str]]:
        """{proxy: (score, seconds, error)} for one architecture."""
        return {p: (r.score, r.seconds, r.error) for p, r in self.results(arch, proxies, share).items()}
