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
    """Dump caches that cannot sit next to a (read-only) dump go to a test-private folder."""
    monkeypatch.setenv("ZCBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "zcbench-cache"))
