"""Shared fixtures: the optional ../shared reference data and small-thread torch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ZCBENCH_SHARED", REPO.parent / "shared")) / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real published data for checks); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _private_dump_cache(tmp_path_factory, monkeypatch):
    """Dump caches go to a test-private cache folder (never the user's)."""
    monkeypatch.setenv("ZCBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "zcbench-cache"))


@pytest.fixture(autouse=True)
def _registry_restored(monkeypatch):
    """Plugins and API functions register into the process-wide proxy registry: every test starts and ends
    with the built-ins only (and without the user's $ZCBENCH_PLUGINS or progress bars)."""
    from zcbench.proxies import PROXIES, plugins

    monkeypatch.delenv(plugins.ENV, raising=False)
    monkeypatch.setenv("ZCBENCH_PROGRESS", "0")
    before, loaded = {n: PROXIES.get(n) for n in PROXIES.names()}, dict(plugins._loaded)
    yield
    plugins._forget([n for n in PROXIES.names() if n not in before])
    for n, spec in before.items():
        if PROXIES.get(n) is not spec:
            PROXIES.replace(n, spec)
    plugins._loaded.clear()
    plugins._loaded.update(loaded)


@pytest.fixture(autouse=True)
def _process_state_unchanged():
    """A test leaves torch's global state (what a proxy may not change either) and the SIGINT handler as it
    found them: a later test in the same process must not depend on which tests ran before it."""
    import signal

    from zcbench.proxies.isolation import GlobalState

    before, handler = GlobalState.capture(), signal.getsignal(signal.SIGINT)
    yield
    changed = before.changes(GlobalState.capture())
    assert not changed, f"the test left torch's global state changed: {'; '.join(changed)}"
    assert signal.getsignal(signal.SIGINT) is handler, "the test left another SIGINT handler installed"
