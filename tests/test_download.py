"""``zcbench download``: every path through a local HTTP server (no network), as a real download runs.

The catalog is replaced through $ZCBENCH_DOWNLOAD_CATALOG, exactly as a mirror would replace it, so
requests, pooch, the Range downloader, unpacking, the structure checks and the lock file all run.
"""

from __future__ import annotations

import copy
import io
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import download_fixtures as fx
import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from zcbench.cli import main
from zcbench.download import fetch as fetch_mod
from zcbench.download.catalog import builtin_catalog_text, load_catalog

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def server():
    srv = fx.FileServer()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    monkeypatch.setattr(fetch_mod, "RETRY_WAIT", 0.0)
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)


def write_catalog(tmp_path: Path, monkeypatch, entries: list[dict], targets: dict | None = None, **top) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"format": 1, **top, "entries": entries, "targets": targets or {}}))
    monkeypatch.setenv("ZCBENCH_DOWNLOAD_CATALOG", str(path))
    return path


def run(*args, ok: bool = True):
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output + res.stderr
    return res


def one_line_error(res, *needles: str) -> str:
    assert res.exit_code == 2, res.output + res.stderr
    err = res.stderr.strip()
    assert err.startswith("zcbench: error: ") and "\n" not in err and "Traceback" not in err, err
    for n in needles:
        assert n in err, (n, err)
    return err


def cifar_entry(url: str, checksum: str | None) -> dict:
    return {
        "name": "cifar10",
        "description": "CIFAR-10 python version",
        "kind": "images",
        "target": "cifar-10-batches-py",
        "url": url,
        "checksum": checksum,
        "unpack": "tar",
        "check": "cifar10",
        "manual": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, extract in DIR",
    }


def file_entry(name: str, url: str, data: bytes | None, check: str, **kw) -> dict:
    return {
        "name": name,
        "target": Path(url).name,
        "url": url,
        "checksum": kw.pop("checksum", None if data is None else fx.sha256(data)),
        "check": check,
        "manual": f"get {Path(url).name} from its authors",
        **kw,
    }


def no_leftovers(root: Path) -> None:
    """Nothing half-written is left: no partial files, staging folders or archives (only final names)."""
    assert not (root / ".zcbench-download").exists(), list((root / ".zcbench-download").rglob("*"))


# -- the end-to-end path -------------------------------------------------------------------------


def test_download_cifar10_then_score(server, tmp_path, monkeypatch):
    """The issue's "done when": download cifar10 from the (local) source, then score with its images."""
    data = fx.cifar10_tar()
    write_catalog(tmp_path, monkeypatch, [cifar_entry(server.add("/kriz/cifar-10-python.tar.gz", data), fx.md5(data))])
    root = tmp_path / "data"
    res = run("download", "cifar10", "--to", root)
    assert "cifar10: installed" in res.output and "md5 (published)" in res.output
    assert sorted(p.name for p in (root / "cifar-10-batches-py").iterdir()) == [
        "batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
        "readme.html", "test_batch",
    ]  # fmt: skip
    lock = json.loads((root / "zcbench-downloads.json").read_text())
    rec = lock["parts"]["cifar-10-batches-py"]
    assert rec["fetched"]["sha256"] == fx.sha256(data).split(":")[1] and rec["installed"]["files"] == 8
    no_leftovers(root)
    out = tmp_path / "scores.h5"
    run(
        "score", "--space", "nb201", "--sample", 2, "--proxy", "snip", "--dataset", "cifar10",
        "--data-dir", root, "--batch-size", 4, "--out", out, "--quiet",
    )  # fmt: skip
    df = pd.read_csv(io.StringIO(run("export", out).output))
    scores = df["snip"].tolist()
    assert len(scores) == 2 and all(math.isfinite(s) for s in scores), scores


def test_archive_unpacks_to_the_reader_layout(server, tmp_path, monkeypatch):
    from zcbench.data.images import load_train_split

    data = fx.cifar100_tar(n=5)
    entry = {
        **cifar_entry(server.add("/c100.tar.gz", data), fx.md5(data)),
        "name": "cifar100",
        "target": "cifar-100-python",
        "check": "cifar100",
    }
    write_catalog(tmp_path, monkeypatch, [entry])
    run("download", "cifar100", "--to", tmp_path / "d")
    x, y = load_train_split("cifar100", str(tmp_path / "d"))
    assert x.shape == (5, 32, 32, 3) and y.max() < 100


def test_second_download_does_nothing(server, tmp_path, monkeypatch):
    data = fx.cifar10_tar()
    write_catalog(tmp_path, monkeypatch, [cifar_entry(server.add("/c10.tar.gz", data), fx.md5(data))])
    run("download", "cifar10", "--to", tmp_path / "d")
    before = (tmp_path / "d" / "zcbench-downloads.json").read_text()
    res = run("download", "cifar10", "--to", tmp_path / "d")
    assert "already present and verified" in res.output
    assert len(server.hits("/c10.tar.gz")) == 1  # no second request
    assert (tmp_path / "d" / "zcbench-downloads.json").read_text() == before


# -- integrity -------------------------------------------------------------------------------------


def test_wrong_checksum_is_an_error_and_installs_nothing(server, tmp_path, monkeypatch):
    data = fx.cifar10_tar()
    wrong = "md5:" + "0" * 32
    write_catalog(tmp_path, monkeypatch, [cifar_entry(server.add("/c10.tar.gz", data), wrong)])
    root = tmp_path / "d"
    err = one_line_error(
        run("download", "cifar10", "--to", root, ok=False),
        "cifar10", "cifar-10-python", "checksum mismatch", "nothing was installed", "Manual alternative",
    )  # fmt: skip
    assert "0" * 32 in err
    assert not (root / "cifar-10-batches-py").exists() and not (root / "c10.tar.gz").exists()
    assert not (root / ".zcbench-download").exists()  # the bad download is gone, nothing to resume from
    if (root / "zcbench-downloads.json").exists():
        assert json.loads((root / "zcbench-downloads.json").read_text())["parts"] == {}


def test_structure_check_refuses_an_html_page(server, tmp_path, monkeypatch):
    """No checksum known: the structure check is what catches a Drive quota page saved as the dump."""
    url = server.add("/NAS-Bench-201-v1_0-e61699.pth", b"<!DOCTYPE html><html><title>Quota exceeded</title></html>")
    write_catalog(tmp_path, monkeypatch, [file_entry("nb201-v1_0", url, None, "torch-pth")])
    one_line_error(
        run("download", "nb201-v1_0", "--to", tmp_path / "d", ok=False),
        "nb201-v1_0", "HTML page", "nothing was installed",
    )  # fmt: skip
    assert not (tmp_path / "d" / "NAS-Bench-201-v1_0-e61699.pth").exists()
    no_leftovers(tmp_path / "d")


def test_exact_size_is_checked(server, tmp_path, monkeypatch):
    data = fx.swap_csv()
    url = server.add("/DARTS_archs_CIFAR10.csv", data)
    write_catalog(tmp_path, monkeypatch, [file_entry("swap", url, None, "swap-csv", size=len(data) + 1)])
    one_line_error(run("download", "swap", "--to", tmp_path / "d", ok=False), f"{len(data)} bytes, expected")
    assert not (tmp_path / "d" / "DARTS_archs_CIFAR10.csv").exists()


def test_lock_file_detects_a_file_changed_after_download(server, tmp_path, monkeypatch):
    data = fx.tfrecord()
    url = server.add("/nasbench_only108.tfrecord", data)
    write_catalog(tmp_path, monkeypatch, [file_entry("nb101", url, None, "tfrecord", checksum=None)])
    root = tmp_path / "d"
    run("download", "nb101", "--to", root)
    f = root / "nasbench_only108.tfrecord"
    lock = json.loads((root / "zcbench-downloads.json").read_text())["parts"]["nasbench_only108.tfrecord"]
    assert lock["fetched"]["sha256"] == fx.sha256(data).split(":")[1] and "structure: tfrecord" in lock["verified"]
    assert "ok, verified" in run("download", "--list", "--to", root).output
    # same size, one byte flipped, then the mtime put back: only --verify's re-hash can see it
    st = f.stat()
    raw = bytearray(f.read_bytes())
    raw[-1] ^= 0xFF
    f.write_bytes(bytes(raw))
    import os

    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "ok, verified" in run("download", "--list", "--to", root).output
    assert "CHANGED" in run("download", "--list", "--to", root, "--verify").output
    # an ordinary edit moves the mtime: noticed without --verify, and download refuses to go on
    f.write_bytes(bytes(raw) + b"x")
    assert "CHANGED" in run("download", "--list", "--to", root).output
    one_line_error(run("download", "nb101", "--to", root, ok=False), "nasbench_only108.tfrecord", "changed", "--force")
    run("download", "nb101", "--to", root, "--force")
    assert f.read_bytes() == data
    assert "ok, verified" in run("download", "--list", "--to", root).output


# -- interrupted and resumed transfers -------------------------------------------------------------


def test_truncated_transfer_errors_keeps_nothing_final_and_rerun_completes(server, tmp_path, monkeypatch):
    data = fx.tfrecord() * 40
    url = server.add("/nb.tfrecord", data)
    server.truncate["/nb.tfrecord"] = 100  # every response breaks after 100 bytes
    write_catalog(tmp_path, monkeypatch, [file_entry("nb101", url, data, "tfrecord")])
    root = tmp_path / "d"
    err = one_line_error(run("download", "nb101", "--to", root, ok=False), "nb.tfrecord", url, "run the command again")
    assert "transfer" in err
    assert not (root / "nb.tfrecord").exists()
    partial = root / ".zcbench-download" / "nb.tfrecord" / "nb.tfrecord.part"
    assert partial.stat().st_size == 100 * fetch_mod.ATTEMPTS  # each retry resumed where the last one broke
    assert "partial" in run("download", "--list", "--to", root).output
    del server.truncate["/nb.tfrecord"]
    run("download", "nb101", "--to", root)
    assert (root / "nb.tfrecord").read_bytes() == data
    assert server.hits("/nb.tfrecord")[-1] == f"bytes={100 * fetch_mod.ATTEMPTS}-"
    assert not partial.exists()


def test_resumed_transfer_asks_only_for_the_rest(server, tmp_path, monkeypatch):
    data = fx.swap_csv()
    url = server.add("/DARTS_archs_CIFAR10.csv", data)
    write_catalog(tmp_path, monkeypatch, [file_entry("swap", url, data, "swap-csv")])
    root = tmp_path / "d"
    work = root / ".zcbench-download" / "DARTS_archs_CIFAR10.csv"
    work.mkdir(parents=True)
    (work / "DARTS_archs_CIFAR10.csv.part").write_bytes(data[:50])  # what an interrupted run left
    run("download", "swap", "--to", root)
    assert server.hits("/DARTS_archs_CIFAR10.csv") == ["bytes=50-"]
    assert (root / "DARTS_archs_CIFAR10.csv").read_bytes() == data


def test_a_server_without_range_support_restarts_cleanly(server, tmp_path, monkeypatch):
    data = fx.swap_csv()
    url = server.add("/a.csv", data)
    server.ranges = False
    write_catalog(tmp_path, monkeypatch, [file_entry("swap", url, data, "swap-csv")])
    work = tmp_path / "d" / ".zcbench-download" / "a.csv"
    work.mkdir(parents=True)
    (work / "a.csv.part").write_bytes(b"garbage that is not a prefix")
    run("download", "swap", "--to", tmp_path / "d")
    assert (tmp_path / "d" / "a.csv").read_bytes() == data


# -- refusals before any work ------------------------------------------------------------------------


def test_disk_space_is_checked_before_downloading(server, tmp_path, monkeypatch):
    data = fx.cifar10_tar()
    entry = cifar_entry(server.add("/c10.tar.gz", data), fx.md5(data))
    entry["size"] = "2.5 GB"
    write_catalog(tmp_path, monkeypatch, [entry])
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1 << 30))
    one_line_error(run("download", "cifar10", "--to", tmp_path / "d", ok=False), "not enough disk space", "1 GB free")
    assert server.requests == []  # refused before any transfer


def test_disk_space_is_checked_against_content_length(server, tmp_path, monkeypatch):
    """Sizes the catalog does not know are checked when the server announces them."""
    data = fx.tfrecord() * 10
    write_catalog(tmp_path, monkeypatch, [file_entry("nb101", server.add("/x.tfrecord", data), data, "tfrecord")])
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=10))
    one_line_error(run("download", "nb101", "--to", tmp_path / "d", ok=False), "not enough disk space")
    assert not (tmp_path / "d" / "x.tfrecord").exists()


def test_unreachable_source_is_one_line_with_the_manual_alternative(server, tmp_path, monkeypatch):
    port = server.server_address[1]
    server.stop()  # nothing listens there any more
    url = f"http://127.0.0.1:{port}/kriz/cifar-10-python.tar.gz"
    write_catalog(tmp_path, monkeypatch, [cifar_entry(url, "md5:" + "1" * 32)])
    one_line_error(
        run("download", "cifar10", "--to", tmp_path / "d", ok=False),
        "cifar10", "cifar-10-python.tar.gz", url, "connection refused",
        "Manual alternative: https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, extract in DIR",
    )  # fmt: skip


def test_http_error_is_one_line(server, tmp_path, monkeypatch):
    url = server.add("/gone.csv", b"")
    server.status["/gone.csv"] = 404
    write_catalog(tmp_path, monkeypatch, [file_entry("gone", url, b"x", "swap-csv")])
    one_line_error(run("download", "gone", "--to", tmp_path / "d", ok=False), "HTTP 404", url)


def test_unknown_names_and_targets_are_usage_errors(server, tmp_path, monkeypatch):
    write_catalog(tmp_path, monkeypatch, [cifar_entry(server.url("/x"), None)], {"reproduce-x": ["cifar10"]})
    one_line_error(run("download", "cifar11", ok=False), "unknown download 'cifar11'", "cifar10")
    one_line_error(run("download", "--for", "reproduce-y", ok=False), "unknown --for target", "reproduce-x")
    one_line_error(run("download", ok=False), "--list")
    assert server.requests == []


def test_manual_entries_are_listed_and_explained(tmp_path, monkeypatch):
    entry = {"name": "secret", "target": "secret.pth", "check": "torch-pth", "manual": "ask the authors by e-mail"}
    entry["parts"] = [{"path": "secret.pth"}]
    write_catalog(tmp_path, monkeypatch, [entry])
    assert "manual" in run("download", "--list", "--to", tmp_path).output
    one_line_error(run("download", "secret", "--to", tmp_path, ok=False), "no automatic source", "ask the authors")


def test_bad_catalog_is_one_line(tmp_path, monkeypatch):
    entry = cifar_entry("http://127.0.0.1:9/x.tar.gz", "md5:abc")
    write_catalog(tmp_path, monkeypatch, [entry])
    one_line_error(run("download", "--list", ok=False), "checksum 'md5:abc'", "catalog entry 'cifar10'")
    entry["checksum"], entry["colour"] = None, "blue"
    write_catalog(tmp_path, monkeypatch, [entry])
    one_line_error(run("download", "--list", ok=False), "unknown field(s) colour")


def test_unsafe_archive_members_are_refused(server, tmp_path, monkeypatch):
    data = fx._tar({"../evil": b"x", "cifar-10-batches-py/data_batch_1": b"y"})
    write_catalog(tmp_path, monkeypatch, [cifar_entry(server.add("/c.tar.gz", data), None)])
    one_line_error(run("download", "cifar10", "--to", tmp_path / "d", ok=False), "unsafe archive member")
    assert not (tmp_path / "evil").exists() and not (tmp_path / "d" / "cifar-10-batches-py").exists()


# -- files already in place ----------------------------------------------------------------------------


def test_files_put_in_place_by_hand_are_checked_and_recorded(server, tmp_path, monkeypatch):
    data = fx.suite_zero_json()
    url = server.add("/zc_nasbench301.json", data)
    write_catalog(tmp_path, monkeypatch, [file_entry("zc-nb301", url, None, "suite-zero-json", checksum=None)])
    root = tmp_path / "d"
    root.mkdir()
    (root / "zc_nasbench301.json").write_bytes(data)
    assert "present, not downloaded by zcbench" in run("download", "--list", "--to", root).output
    assert "checked and recorded" in run("download", "zc-nb301", "--to", root).output
    assert server.requests == []
    assert "ok, verified" in run("download", "--list", "--to", root).output
    (root / "zc_nasbench301.json").unlink()
    (root / "zcbench-downloads.json").unlink()
    (root / "zc_nasbench301.json").write_text("[1, 2]")
    one_line_error(run("download", "zc-nb301", "--to", root, ok=False), "exists but is not valid", "--force")


# -- Google Drive and figshare -------------------------------------------------------------------------


def test_gdrive_entries_go_through_gdown_with_the_catalog_id(tmp_path, monkeypatch):
    gdown = pytest.importorskip("gdown")
    data = fx.torch_legacy()
    calls = []

    def fake_download(id=None, output=None, quiet=False, resume=False, **kw):
        calls.append({"id": id, "resume": resume, "output": output})
        Path(output).write_bytes(data)
        return output

    monkeypatch.setattr(gdown, "download", fake_download)
    entry = {
        "name": "nb201-v1_0",
        "target": "NAS-Bench-201-v1_0-e61699.pth",
        "gdrive": "1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs",
        "check": "torch-pth",
        "manual": "the Drive link",
    }
    write_catalog(tmp_path, monkeypatch, [entry])
    run("download", "nb201-v1_0", "--to", tmp_path / "d")
    assert [c["id"] for c in calls] == ["1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs"] and calls[0]["resume"]
    assert (tmp_path / "d" / "NAS-Bench-201-v1_0-e61699.pth").read_bytes() == data
    lock = json.loads((tmp_path / "d" / "zcbench-downloads.json").read_text())
    assert lock["parts"]["NAS-Bench-201-v1_0-e61699.pth"]["source"].endswith("id=1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs")


def test_gdrive_transfer_shorter_than_announced_is_refused(tmp_path, monkeypatch):
    gdown = pytest.importorskip("gdown")

    def short_download(id=None, output=None, progress=None, **kw):
        if progress is None:
            pytest.skip("gdown without a progress callback")
        Path(output).write_bytes(b"PK\x03\x04" + b"\0" * 46)
        progress(50, 100)  # Drive announced 100 bytes
        return output

    monkeypatch.setattr(gdown, "download", short_download)
    entry = {"name": "tnb101", "target": "t.pth", "gdrive": "1BV_BRMsCUVBtSVj4SN4QmA9Pjd35B2M4"}
    write_catalog(tmp_path, monkeypatch, [{**entry, "check": "torch-pth", "manual": "the Drive folder"}])
    one_line_error(run("download", "tnb101", "--to", tmp_path / "d", ok=False), "stopped at 50 of 100 bytes")
    assert not (tmp_path / "d" / "t.pth").exists()


def test_missing_gdown_names_the_extra_and_the_manual_link(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gdown", None)  # import gdown -> ImportError
    entry = {"name": "tnb101", "target": "t.pth", "gdrive": "1BV_BRMsCUVBtSVj4SN4QmA9Pjd35B2M4"}
    entry.update(check="torch-pth", manual="the Drive folder https://drive.google.com/drive/folders/1HlL")
    write_catalog(tmp_path, monkeypatch, [entry])
    one_line_error(
        run("download", "tnb101", "--to", tmp_path / "d", ok=False),
        "pip install 'zcbench[gdrive]'", "https://drive.google.com/drive/folders/1HlL",
    )  # fmt: skip


def test_figshare_file_is_found_through_the_api_and_its_md5_checked(server, tmp_path, monkeypatch):
    data = fx.nb301_zip()
    listing = [
        {"name": "README.txt", "download_url": server.add("/files/1", b"readme"), "computed_md5": "0" * 32},
        {"name": "nb301_dataset.zip", "download_url": server.add("/files/2", data), "computed_md5": fx.md5(data)[4:]},
    ]
    server.add("/api/articles/13246952/files", json.dumps(listing).encode())
    entry = {
        "name": "nb301-training-data",
        "target": "nb301_dataset",
        "figshare": {"article": 13246952, "file": "*.zip"},
        "unpack": "zip",
        "member": ".",
        "check": "nb301-training",
        "manual": "figshare 13246952",
    }
    write_catalog(tmp_path, monkeypatch, [entry], figshare_api=server.url("/api"))
    res = run("download", "nb301-training-data", "--to", tmp_path / "d")
    assert "md5 (figshare)" in res.output
    assert sorted(p.name for p in (tmp_path / "d" / "nb301_dataset").rglob("results_*.json")) == [
        "results_0.json",
        "results_1.json",
    ]
    from zcbench.spaces import get_space

    assert len(get_space("nb301").load_dump(tmp_path / "d" / "nb301_dataset", "cifar10").records) == 2
    # a figshare MD5 that does not match is a checksum error like any other
    listing[1]["computed_md5"] = "f" * 32
    server.files["/api/articles/13246952/files"] = json.dumps(listing).encode()
    one_line_error(run("download", "nb301-training-data", "--to", tmp_path / "e", ok=False), "checksum mismatch")


# -- the built-in catalog, the Makefile and the docs ---------------------------------------------------


def _builtin() -> dict:
    return yaml.safe_load(builtin_catalog_text())


def mirror_catalog(server: fx.FileServer, tmp_path: Path) -> Path:
    """The built-in catalog with every source moved to the local server (miniature files, their SHA-256),
    Taskonomy cut to two buildings: what a user's mirror catalog looks like."""
    raw = copy.deepcopy(_builtin())
    for e in raw["entries"]:
        name = e["name"]
        e.pop("size", None)
        if "expand" in e:
            e["expand"]["building"] = e["expand"]["building"][:2]
            e["part"]["url"] = server.base + "/taskonomy/{building}_{domain}.tar"
            for b in e["expand"]["building"]:
                for d in e["expand"]["domain"]:
                    server.add(f"/taskonomy/{b}_{d}.tar", fx.taskonomy_tar(b, d))
        parts = e.get("parts") or []
        if any(k in e for k in ("url", "gdrive", "figshare")):
            parts = [e]
        for i, p in enumerate(parts):
            data = fx.ARCHIVES[name]() if p.get("unpack") else fx.BY_CHECK[p.get("check") or e["check"]]()
            if "taskonomy" in name:
                data = fx.npy(np.ones(3))
            file = p.get("file") or Path(p.get("url") or p.get("path") or e["target"]).name
            if "figshare" in p:
                file = "nb301.zip"
            for k in ("url", "gdrive", "figshare", "size"):
                p.pop(k, None)
            p["url"] = server.add(f"/{name}/{i}/{file}", data)
            p["file"] = file
            p["checksum"] = fx.sha256(data) if p.get("checksum") else None
    path = tmp_path / "mirror.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_every_catalog_entry_downloads_from_a_mirror(server, tmp_path, monkeypatch):
    """All entries of the real catalog, through a mirror: every structure check accepts its real format,
    every archive lands where the readers look, and a second run does nothing."""
    monkeypatch.setenv("ZCBENCH_DOWNLOAD_CATALOG", str(mirror_catalog(server, tmp_path)))
    names = list(load_catalog().entries)
    root = tmp_path / "data"
    run("download", *names, "--to", root, "--quiet")
    cat = load_catalog()
    for e in cat.entries.values():
        assert (root / e.target).exists(), e.name
    assert (
        root / "taskonomydata_mini" / "wainscott" / "class_scene" / "point_0_view_0_domain_class_scene.npy"
    ).is_file()
    assert (root / "NATS-tss-v1_0-3ffb9-simple" / "meta.pickle.pbz2").is_file()
    listing = run("download", "--list", "--to", root).output
    assert listing.count("ok, verified") == len(names), listing
    n = len(server.requests)
    res = run("download", *names, "--to", root)
    assert res.output.count("already present and verified") == len(names) and len(server.requests) == n
    no_leftovers(root)


def readme_rows() -> list[tuple[str, str]]:
    """(first file named, `zcbench download` name) of every row of data/README.md's tables."""
    rows = []
    header: list[str] = []
    for line in (REPO / "data" / "README.md").read_text().splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not header:
            header = cells
        elif not set(line) <= set("|-"):
            col = header.index("`zcbench download`")
            rows.append((re.search(r"`([^`]+)`", cells[1]).group(1).rstrip("/"), cells[col].strip("`")))
    return rows


def test_list_shows_every_file_of_data_readme():
    """Each row of data/README.md's tables names its catalog entry, whose target is the row's file; every
    entry has a row; --list shows them all with size, checksum kind and structure check."""
    cat = load_catalog()
    rows = readme_rows()
    assert len(rows) == len(cat.entries) and {n for _, n in rows} == set(cat.entries)
    for file, name in rows:
        assert cat.entries[name].target == file, (name, file)
    listing = run("download", "--list", "--to", "/nonexistent/zcbench-data").output
    for e in cat.entries.values():
        line = next(x for x in listing.splitlines() if x.startswith(e.name + " "))
        assert e.size_text in line and e.checksum_kind() in line and "missing" in line
        assert f"-> {e.target}" in listing
    for word in ("md5", "sha256", "md5 (figshare)", "torch-pth", "tfrecord", "cifar10: Every batch"):
        assert word in listing


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_for_targets_match_the_makefile_needs(tmp_path):
    """`--for T` fetches exactly what `make T` asks for: the Makefile's missing-file lines, mapped to
    catalog targets, equal the --for list's targets; the stop message names the command."""
    cat = load_catalog()
    phony = re.search(r"^\.PHONY: (reproduce-.*)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
    assert set(phony) == set(cat.targets)
    data = tmp_path / "data"
    for target in phony:
        p = subprocess.run(
            ["make", "-s", "-k", target, f"DATA={data}", f"REPORTS={tmp_path}/r", "DEVICE=cpu", "WORKERS=1"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        out = p.stdout + p.stderr
        missing = {Path(m).relative_to(data).as_posix() for m in re.findall(r"zcbench: missing (\S+)", out)}
        if target != "reproduce-all":
            assert f"zcbench download --for {target} --to {data}" in out
        assert missing == {e.target for e in cat.for_target(target)}, target


def readme_commands() -> list[str]:
    cmds = []
    for md in (REPO / "README.md", REPO / "data" / "README.md"):
        for block in re.findall(r"```bash\n(.*?)```", md.read_text(), re.S):
            for line in block.splitlines():
                s = line.strip()
                if s.startswith("zcbench download") or s.startswith("ZCBENCH_DOWNLOAD_CATALOG="):
                    cmds.append(s)
    return cmds


def test_readme_download_commands_run(server, tmp_path, monkeypatch):
    """Every `zcbench download` command the docs show, run against a mirror of the real catalog."""
    cmds = readme_commands()
    assert len(cmds) >= 5 and any("--for" in c for c in cmds) and any("--list" in c for c in cmds)
    mirror = mirror_catalog(server, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZCBENCH_DOWNLOAD_CATALOG", str(mirror))
    for cmd in cmds:
        words = shlex.split(cmd, comments=True)
        env = {}
        while "=" in words[0]:
            k, v = words.pop(0).split("=", 1)
            env[k] = str(tmp_path / v) if k == "ZCBENCH_DOWNLOAD_CATALOG" else v
        assert words[:2] == ["zcbench", "download"], cmd
        res = CliRunner(env=env).invoke(main, words[1:], catch_exceptions=False)
        assert res.exit_code == 0, (cmd, res.output, res.stderr)
    listing = run("download", "--list", "--for", "reproduce-swap", "--to", tmp_path / "data").output
    assert listing.count("ok, verified") == 2, listing  # the NB201 dump and CIFAR-100
    no_leftovers(tmp_path / "data")


def test_importing_the_package_stays_light():
    code = (
        "import sys, zcbench.download as d; d.load_catalog(); "
        "print([m for m in ('torch', 'pooch', 'gdown', 'requests') if m in sys.modules])"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]"
