"""Proxies computed from other proxies' stored scores, declared once without torch.

``vote`` (Abdelfattah et al.) is defined on pairs of architectures, so it has no per-architecture value:
a run stores its inputs, and the tables compute it from them. The proxy registry (``proxies/vote.py``)
and the tables (``report/``) both read the inputs here, so that the commands that only read results
never import torch.
"""

from __future__ import annotations

# the proxies whose majority ``vote`` is (Abdelfattah et al., ICLR 2021)
VOTE_INPUTS = ("synflow", "jacov", "snip")
