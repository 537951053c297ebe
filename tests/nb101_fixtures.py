"""Miniature NAS-Bench-101 dumps in the exact official formats, written independently of zcbench.

* ``nasbench_*.tfrecord``: TFRecord framing (u64 length, masked CRC-32C of the length, payload,
  masked CRC-32C of the payload), payload = JSON list ``[hash, epochs, adjacency, ops,
  base64(ModelMetrics)]``, three repeats per hash and epoch budget (FORMATS.md §2.2-2.3).
* ``nasbench_only108.pkl``: NASLib's ``{hash: (fixed_stats, computed_stats)}`` twin (§2.6).

The CRC here is a bit-by-bit loop and the protobuf encoder is hand-written, so the readers in
``zcbench.spaces.tfrecord``, ``nb101_metrics`` and ``nb101_table`` are checked against code that
shares nothing with them.
``trainable_parameters`` of the small specs comes from hand-derived formulas (below), the two
large specs carry the official values published with NAS-Bench-101.
"""

from __future__ import annotations

import base64
import json
import pickle
import random
import struct
from pathlib import Path

import numpy as np

CONV3, CONV1, POOL = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
RUN_KEYS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")

# (in_channels, out_channels) of the 9 modules: 3 stacks of 3, channels doubling per stack.
MODULE_IO = [(128, 128)] * 3 + [(128, 256), (256, 256), (256, 256)] + [(256, 512), (512, 512), (512, 512)]
STEM = 3 * 3 * 3 * 128 + 2 * 128  # conv3x3 3->128 (no bias) + BN gamma/beta
HEAD = 512 * 10 + 10  # dense layer with bias


def conv_bn(cin: int, cout: int, k: int) -> int:
    """Parameters of conv(k×k, no bias) + BN(gamma, beta)."""
    return k * k * cin * cout + 2 * cout


def params_input_output() -> int:
    """V=2, input→output: each module is one 1×1 projection in→out."""
    return STEM + HEAD + sum(conv_bn(i, o, 1) for i, o in MODULE_IO)


def params_single_conv3() -> int:
    """V=3, input→conv3x3→output: projection in→out feeding a 3×3 conv out→out."""
    return STEM + HEAD + sum(conv_bn(i, o, 1) + conv_bn(o, o, 3) for i, o in MODULE_IO)


def params_two_branches() -> int:
    """V=4, input→{conv1x1, conv3x3}→output: output split in two halves c=out/2, each branch
    gets its own projection in→c."""
    return (
        STEM
        + HEAD
        + sum(2 * conv_bn(i, o // 2, 1) + conv_bn(o // 2, o // 2, 1) + conv_bn(o // 2, o // 2, 3) for i, o in MODULE_IO)
    )


# Specs as they are stored in the official dump (already pruned), with trainable_parameters.
SPECS: list[dict] = [
    {  # first graph of the official file; hash and params published (e.g. NNI / NASLib tests)
        "matrix": [
            [0, 1, 0, 0, 1, 1, 0],
            [0, 0, 1, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 1],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        "ops": ["input", CONV3, POOL, CONV3, CONV3, CONV1, "output"],
        "params": 8555530,
        "hash": "00005c142e6f48ac74fdcf73e3439874",
    },
    {  # the nasbench README "Inception-like" query, as the dump stores it (README output)
        "matrix": [
            [0, 1, 1, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        "ops": ["input", CONV3, CONV1, POOL, CONV3, CONV3, "output"],
        "params": 2694282,
        "hash": "28cfc7874f6d200472e1a9dcd8650aa0",
    },
    {"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"], "params": params_input_output()},
    {"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", CONV3, "output"], "params": params_single_conv3()},
    {
        "matrix": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
        "ops": ["input", CONV1, CONV3, "output"],
        "params": params_two_branches(),
    },
]
# The README query itself: an isomorphic spelling of SPECS[1] (vertices in another order).
INCEPTION_QUERY = {
    "matrix": [
        [0, 1, 1, 1, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    "ops": ["input", CONV1, CONV3, CONV3, CONV3, POOL, "output"],
}


def spec_hash(spec: dict) -> str:
    if "hash" in spec:
        return spec["hash"]
    from zcbench.spaces.nb101 import module_hash  # checked against the official values above

    return module_hash(spec["matrix"], spec["ops"])


# -- independent encoders --------------------------------------------------------------------


def crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked(crc32c_bitwise(length)))
        + data
        + struct.pack("<I", masked(crc32c_bitwise(data)))
    )


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_evaluation(ev: dict) -> bytes:
    out = b""
    for field, key in enumerate(("current_epoch",) + RUN_KEYS, 1):
        if key in ev:
            out += bytes([(field << 3) | 1]) + struct.pack("<d", ev[key])
    if "checkpoint_path" in ev:
        raw = ev["checkpoint_path"].encode()
        out += b"\x32" + varint(len(raw)) + raw
    return out


def encode_model_metrics(evals: list[dict], trainable_parameters: int, total_time: float) -> bytes:
    out = b""
    for ev in evals:
        body = encode_evaluation(ev)
        out += b"\x0a" + varint(len(body)) + body
    out += b"\x10" + varint(trainable_parameters)
    out += b"\x19" + struct.pack("<d", total_time)
    return out


# -- runs and dumps --------------------------------------------------------------------------


def make_runs(epochs_list: tuple[int, ...] = (108,), seed: int = 0, specs: list[dict] = SPECS) -> dict:
    """``{hash: {epochs: [3 runs]}}``; a run maps ``halfway_*``/``final_*`` names to values."""
    rng = random.Random(seed)
    out: dict = {}
    for spec in specs:
        per_epoch = {}
        for ep in epochs_list:
            runs = []
            for _ in range(3):
                run = {}
                for stage in ("halfway", "final"):
                    run[f"{stage}_training_time"] = rng.uniform(100, 3000)
                    run[f"{stage}_train_accuracy"] = rng.uniform(0.5, 1.0)
                    run[f"{stage}_validation_accuracy"] = rng.uniform(0.1, 0.95)
                    run[f"{stage}_test_accuracy"] = rng.uniform(0.1, 0.95)
                runs.append(run)
            per_epoch[ep] = runs
        out[spec_hash(spec)] = per_epoch
    return out


def row_payload(spec: dict, epochs: int, run: dict) -> bytes:
    v = len(spec["ops"])
    evals = [
        {
            "current_epoch": 0.0,
            "training_time": 0.0,
            "train_accuracy": 0.1,
            "validation_accuracy": 0.1,
            "test_accuracy": 0.1,
            "checkpoint_path": "gs://bucket/model.ckpt-0",
        },
        {
            "current_epoch": epochs / 2,
            **{k: run[f"halfway_{k}"] for k in RUN_KEYS},
            "checkpoint_path": "gs://bucket/model.ckpt-half",
        },
        {
            "current_epoch": float(epochs),
            **{k: run[f"final_{k}"] for k in RUN_KEYS},
            "checkpoint_path": "gs://bucket/model.ckpt-final",
        },
    ]
    metrics = encode_model_metrics(evals, spec["params"], run["final_training_time"] + 1.0)
    row = [
        spec_hash(spec),
        epochs,
        "".join(str(spec["matrix"][i][j]) for i in range(v) for j in range(v)),
        ",".join(spec["ops"]),
        base64.b64encode(metrics).decode("ascii"),
    ]
    return json.dumps(row).encode("utf-8")


def write_tfrecord(path: Path, runs: dict, specs: list[dict] = SPECS, interleave: bool = True) -> list[bytes]:
    """Write the dump; with ``interleave`` the repeats are spread out (repeat 0 of every graph,
    then repeat 1, ...), so graph order = order of first appearance must be honoured."""
    by_hash = {spec_hash(s): s for s in specs}
    rows: list[tuple] = []
    for h, per_epoch in runs.items():
        for ep, rs in per_epoch.items():
            for r, run in enumerate(rs):
                rows.append((r if interleave else 0, ep, h, run))
    order = {h: i for i, h in enumerate(runs)}
    rows.sort(key=lambda t: (t[0], order[t[2]]) if interleave else (order[t[2]],))
    payloads = [row_payload(by_hash[h], ep, run) for _, ep, h, run in rows]
    with open(path, "wb") as fh:
        for p in payloads:
            fh.write(frame(p))
    return payloads


def write_naslib_pickle(path: Path, runs: dict, specs: list[dict] = SPECS, old_numpy_names: bool = True) -> None:
    """NASLib's pickle twin. With ``old_numpy_names`` the numpy globals are spelled
    ``numpy.core.*`` like a pickle written by numpy 1.x (as NASLib's file is)."""
    by_hash = {spec_hash(s): s for s in specs}
    data = {}
    for h, per_epoch in runs.items():
        s = by_hash[h]
        fixed = {
            "module_adjacency": np.array(s["matrix"], dtype=np.int8),
            "module_operations": list(s["ops"]),
            "trainable_parameters": s["params"],
        }
        data[h] = (fixed, {ep: [dict(r) for r in rs] for ep, rs in per_epoch.items()})
    raw = pickle.dumps(data, protocol=2)
    if old_numpy_names:
        raw = raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    Path(path).write_bytes(raw)


def write_evil_pickle(path: Path) -> None:
    """A pickle whose payload would call ``os.getcwd`` when unpickled blindly."""
    import os

    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())

    Path(path).write_bytes(pickle.dumps({"00005c142e6f48ac74fdcf73e3439874": Evil()}, protocol=2))


def write_synthetic(path: Path, n_graphs: int, seed: int = 0) -> int:
    """A large file of plausible rows (random hashes, 3 repeats) for timing the reader; framed
    with zcbench's table-driven writer because the bitwise CRC above is too slow for 60k rows."""
    from zcbench.spaces.tfrecord import write_tfrecord as fast_write

    rng = random.Random(seed)
    payloads = []
    for _ in range(n_graphs):
        s = dict(SPECS[0], hash=f"{rng.getrandbits(128):032x}")
        for _ in range(3):
            run = {f"{st}_{k}": rng.random() for st in ("halfway", "final") for k in RUN_KEYS}
            payloads.append(row_payload(s, 108, run))
    with open(path, "wb") as fh:
        fast_write(fh, payloads)
    return len(payloads)
