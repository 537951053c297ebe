"""The first (uncached) load of a NB101/NB201 dump shows a progress bar on stderr; a cached load shows none."""

from __future__ import annotations

import nb101_fixtures as F101
import nb201_fixtures as F201
import pytest

from zcbench.spaces import get_space
from zcbench.spaces import nb101_table as T
from zcbench.spaces import tfrecord as TF


@pytest.fixture(autouse=True)
def _bars_on(monkeypatch, tmp_path):
    """Force bars on although the captured stderr is no terminal; keep caches in this test's tmp dir."""
    monkeypatch.setenv("ZCBENCH_PROGRESS", "1")
    monkeypatch.setenv("ZCBENCH_CACHE", str(tmp_path / "cache-root"))


def test_nb101_tfrecord_bar_counts_every_byte_once(tmp_path, capfd, monkeypatch):
    path = tmp_path / "nasbench_only108.tfrecord"
    F101.write_tfrecord(path, F101.make_runs((108,), seed=1))
    monkeypatch.setattr(TF, "_BLOCK", 1000)  # several blocks of ~2 records: the bar is advanced per block
    bars = []

    def recording_bar(*args, **kwargs):
        bars.append(real_bar(*args, **kwargs))
        return bars[-1]

    real_bar = T.bar
    monkeypatch.setattr(T, "bar", recording_bar)
    first = get_space("nb101").load_dump(path, "cifar10")
    err = capfd.readouterr().err
    assert "parsing nasbench_only108.tfrecord" in err and "B/s" in err
    assert len(bars) == 1 and bars[0].n == bars[0].total == path.stat().st_size
    second = get_space("nb101").load_dump(path, "cifar10")  # from the HDF5 cache
    assert capfd.readouterr().err == "" and len(bars) == 1
    assert second.records == first.records


def test_nb101_naslib_pickle_bar(tmp_path, capfd):
    path = tmp_path / "nasbench_only108.pkl"
    F101.write_naslib_pickle(path, F101.make_runs((108,), seed=1))
    get_space("nb101").load_dump(path, "cifar10")
    err = capfd.readouterr().err
    assert "converting nasbench_only108.pkl" in err and f"/{len(F101.SPECS)} " in err
    get_space("nb101").load_dump(path, "cifar10")
    assert capfd.readouterr().err == ""


def test_nb201_simple_directory_bar(tmp_path, capfd):
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    F201.write_nats_simple(folder, [0, 5, 100])
    first = get_space("nb201").load_dump(folder, "cifar10")
    err = capfd.readouterr().err
    assert "reading NATS-tss-v1_0-3ffb9-simple" in err and "/3 " in err and "arch" in err
    second = get_space("nb201").load_dump(folder, "cifar10")
    assert capfd.readouterr().err == ""
    assert second.records == first.records


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("ZCBENCH_PROGRESS")
    path = tmp_path / "nasbench_only108.tfrecord"
    F101.write_tfrecord(path, F101.make_runs((108,), seed=1))
    get_space("nb101").load_dump(path, "cifar10")
    assert capfd.readouterr().err == ""
