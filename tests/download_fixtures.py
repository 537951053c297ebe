"""A local HTTP server with Range support and miniature files in each catalog entry's real format.

Tests point a catalog ($ZCBENCH_DOWNLOAD_CATALOG) at this server, so downloads go through exactly the
code path of a real one (requests, pooch, the Range downloader, unpacking, checks, the lock file).
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import pickle
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import numpy as np


class FileServer(ThreadingHTTPServer):
    """Serves ``files[path]``; ``truncate[path] = n`` sends only n bytes of each response (then closes),
    ``status[path] = code`` answers with that error, ``ranges=False`` ignores Range headers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.truncate: dict[str, int] = {}
        self.status: dict[str, int] = {}
        self.ranges = True
        self.requests: list[tuple[str, str | None]] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return self.url(path)

    def hits(self, path: str) -> list[str | None]:
        """The Range header of every request for ``path`` (None = a plain GET)."""
        return [r for p, r in self.requests if p == path]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: FileServer

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        srv = self.server
        path = urlparse(self.path).path
        rng = self.headers.get("Range")
        srv.requests.append((path, rng))
        if path in srv.status:
            self.send_error(srv.status[path])
            return
        body = srv.files.get(path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and srv.ranges:
            start = int(m.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        limit = srv.truncate.get(path)
        self.wfile.write(chunk if limit is None else chunk[:limit])
        self.wfile.flush()
        if limit is not None:
            self.close_connection = True


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- miniature files in the official formats --------------------------------------------------------


def _pickle(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)  # the official CIFAR/ImageNet16 files are protocol-2 pickles


def _tar(members: dict[str, bytes], gz: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        dirs = sorted({"/".join(n.split("/")[:i]) for n in members for i in range(1, n.count("/") + 1)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tf.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def cifar_batch(n: int, seed: int, label_key: str = "labels", classes: int = 10, size: int = 32) -> bytes:
    rng = np.random.default_rng(seed)
    return _pickle(
        {
            b"batch_label": b"batch",
            b"data": rng.integers(0, 256, size=(n, 3 * size * size), dtype=np.uint8),
            label_key.encode(): [int(x) for x in rng.integers(0, classes, size=n)],
            b"filenames": [b"x.png"] * n,
        }
    )


def cifar10_tar(n: int = 8) -> bytes:
    """cifar-10-python.tar.gz in the official layout: cifar-10-batches-py/ with 5 train batches, test, meta."""
    members = {f"cifar-10-batches-py/data_batch_{i}": cifar_batch(n, i) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = cifar_batch(n, 99)
    members["cifar-10-batches-py/batches.meta"] = _pickle({b"label_names": [b"c%d" % i for i in range(10)]})
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    return _tar(members)


def cifar100_tar(n: int = 8) -> bytes:
    members = {
        "cifar-100-python/train": cifar_batch(n, 1, "fine_labels", 100),
        "cifar-100-python/test": cifar_batch(n, 2, "fine_labels", 100),
        "cifar-100-python/meta": _pickle({b"fine_label_names": [b"f"] * 100}),
    }
    return _tar(members)


def imagenet16_batch(seed: int) -> bytes:
    return cifar_batch(6, seed, "labels", 120, size=16)


def torch_zip() -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({"meta_archs": ["|none~0|"]}, buf)
    return buf.getvalue()


def torch_legacy() -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({"x": 1}, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def bz2_pickle() -> bytes:
    return bz2.compress(pickle.dumps({"meta_archs": []}, protocol=4))


def nats_simple_tar() -> bytes:
    from zcbench.spaces.nb201 import all_arch_strings

    meta = bz2.compress(pickle.dumps({"meta_archs": all_arch_strings()}, protocol=4))
    record = bz2.compress(pickle.dumps({"full": {}}, protocol=4))
    return _tar(
        {"NATS-tss-v1_0-3ffb9-simple/meta.pickle.pbz2": meta, "NATS-tss-v1_0-3ffb9-simple/000000.pickle.pbz2": record},
        gz=False,
    )


def tfrecord() -> bytes:
    from zcbench.spaces.tfrecord import write_tfrecord

    payload = json.dumps(["0" * 32, 108, [[0, 1], [0, 0]], ["input", "output"], ""]).encode()
    buf = io.BytesIO()
    write_tfrecord(buf, [payload, payload])
    return buf.getvalue()


def naslib_pickle() -> bytes:
    return pickle.dumps({"x": 1}, protocol=4)


def suite_zero_json() -> bytes:
    return json.dumps(
        {"cifar10": {"(0, 1)": {"id": 0, "val_accuracy": 91.0, "synflow": {"score": 1, "time": 0}}}}
    ).encode()


def _genotypes(n: int) -> list[str]:
    from zcbench.spaces.darts_genotype import format_genotype, sample_genotypes

    return [format_genotype(g) for g in sample_genotypes(n, seed=0)]


def swap_csv() -> bytes:
    return "".join(f'"{g}",{90 + i}.5\n' for i, g in enumerate(_genotypes(3))).encode()


def nb301_zip() -> bytes:
    from zcbench.spaces.darts_genotype import genotype_to_config, parse_genotype

    members = {}
    for i, g in enumerate(_genotypes(2)):
        obj = {
            "optimized_hyperparamater_config": {
                **genotype_to_config(parse_genotype(g)),
                "NetworkSelectorDatasetInfo:network": "darts",
            },
            "info": [{"val_accuracy": 90.0 + i}],
            "test_accuracy": 89.0,
        }
        members[f"nb_301_v13_lc_iclr_final/rs/results_{i}.json"] = json.dumps(obj).encode()
    return _zip(members)


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


def taskonomy_tar(building: str, domain: str) -> bytes:
    stem = f"point_0_view_0_domain_{'class_places' if domain == 'class_scene' else domain}"
    data = npy(np.ones(1000 if domain == "class_object" else 365)) if domain.startswith("class") else png()
    ext = "npy" if domain.startswith("class") else "png"
    return _tar({f"{domain}/{stem}.{ext}": data}, gz=False)


# What a valid miniature file is for each structure check (single-file checks).
BY_CHECK = {
    "torch-pth": torch_zip,
    "bz2-pickle": bz2_pickle,
    "pickle": naslib_pickle,
    "tfrecord": tfrecord,
    "suite-zero-json": suite_zero_json,
    "swap-csv": swap_csv,
    "imagenet16-batch": lambda: imagenet16_batch(3),
    "npy": lambda: npy(np.arange(9)),
}
# ... and for the archive entries (by entry name).
ARCHIVES = {
    "cifar10": cifar10_tar,
    "cifar100": cifar100_tar,
    "nats-tss-simple": nats_simple_tar,
    "nb301-training-data": nb301_zip,
}
