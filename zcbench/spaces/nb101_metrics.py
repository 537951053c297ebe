"""One NAS-Bench-101 record's payload, without TensorFlow or protobuf (FORMATS.md §2.3, nasbench's api.py).

A TFRecord payload of the official dumps is a UTF-8 JSON list (``nasbench/api.py`` reads it with
``json.loads``; it is not a ``tf.train.Example``)::

    [module_hash, epochs, raw_adjacency ("0"/"1" row-major), raw_ops (comma-joined), base64(ModelMetrics)]

``ModelMetrics`` (``nasbench/lib/model_metrics.proto``, proto2) is decoded from its wire format by
the ~40-line decoder below; ``evaluation_data[1]`` is the halfway point and ``[2]`` the end of
training, as in ``api.py``. Accuracies stay fractions (0-1) here.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterator

import numpy as np

# Per-run values, in the order ``run_values`` returns them (and the table stores them):
# evaluation_data[2] is the end of training ("final_*"), evaluation_data[1] the halfway point.
RUN_FIELDS: tuple[str, ...] = (
    "final_validation_accuracy",
    "final_test_accuracy",
    "final_train_accuracy",
    "final_training_time",
    "halfway_validation_accuracy",
    "halfway_test_accuracy",
)

# What a malformed payload raises from ``decode_payload`` (callers turn it into a DumpError).
PAYLOAD_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    struct.error,
    binascii.Error,
)

# --------------------------------------------------------------------------------------------
# The JSON payload
# --------------------------------------------------------------------------------------------

_loads = json.JSONDecoder().decode
_b64decode = base64.b64decode


def decode_payload(data: bytes) -> tuple[str, int, str, str, int, tuple[float, ...]]:
    """``(module_hash, epochs, raw_adjacency, raw_ops, trainable_parameters, run values in
    RUN_FIELDS order)`` of one record. The graph strings stay raw: a graph is decoded only the
    first time its hash appears (``adjacency_matrix``, ``raw_ops.split(",")``).

    Raises one of PAYLOAD_ERRORS when the payload is not such a row."""
    module_hash, epochs, raw_adj, raw_ops, raw_metrics = _loads(data.decode("utf-8"))
    params, run = run_values(_b64decode(raw_metrics))
    return module_hash, epochs, raw_adj, raw_ops, params, run


def adjacency_matrix(raw_adj: str) -> np.ndarray:
    """The ``(V, V)`` uint8 matrix of a row-major "0"/"1" string; ValueError if it is not one."""
    dim = int(round(len(raw_adj) ** 0.5))
    raw = raw_adj.encode("ascii", "replace")
    if dim * dim != len(raw) or raw.strip(b"01"):
        raise ValueError(f"adjacency {raw_adj!r} is not a square 0/1 string")
    return (np.frombuffer(raw, dtype=np.uint8) - 48).reshape(dim, dim)


# --------------------------------------------------------------------------------------------
# ModelMetrics protobuf (proto2) wire-format decoder
# --------------------------------------------------------------------------------------------
# Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. A key is varint(field << 3 | type).
#   ModelMetrics   1: EvaluationData (repeated, LEN)   2: trainable_parameters (int32, VARINT)
#                  3: total_time (double, I64)
#   EvaluationData 1..5: current_epoch, training_time, train_accuracy, validation_accuracy,
#                  test_accuracy (double, I64)   6: checkpoint_path (string, LEN)

EVAL_FIELDS = {
    1: "current_epoch",
    2: "training_time",
    3: "train_accuracy",
    4: "validation_accuracy",
    5: "test_accuracy",
}
_unpack_d = struct.Struct("<d").unpack_from


def _varint(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = b[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, i
        shift += 7


def _fields(b: bytes) -> Iterator[tuple[int, int, object]]:
    """Yield ``(field_number, wire_type, value)``; LEN values are ``bytes``, I64 raw ``bytes``."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(b, i)
        elif wt == 1:
            val, i = b[i : i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(b, i)
            val, i = b[i : i + ln], i + ln
        elif wt == 5:
            val, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        if i > n:
            raise ValueError("message ends inside a field")
        yield field, wt, val


_FIVE_DOUBLES = struct.Struct("<xdxdxdxdxd")  # keys 0x09,0x11,0x19,0x21,0x29 each before a double


def _eval_values(b: bytes, start: int, end: int) -> tuple[float, float, float, float]:
    """(training_time, train_accuracy, validation_accuracy, test_accuracy) of the EvaluationData
    at ``b[start:end]``. Fast path: fields 1..5 written in order as 1-byte key + double (what
    protobuf serialisers emit), read with one ``struct`` call; otherwise the generic loop."""
    if (
        end - start >= 45
        and b[start] == 0x09
        and b[start + 9] == 0x11
        and b[start + 18] == 0x19
        and b[start + 27] == 0x21
        and b[start + 36] == 0x29
    ):
        return _FIVE_DOUBLES.unpack_from(b, start)[1:]
    ev = decode_eval(b[start:end])
    nan = float("nan")
    return tuple(ev.get(k, nan) for k in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"))


def run_values(b: bytes) -> tuple[int, tuple[float, ...]]:
    """``(trainable_parameters, values in RUN_FIELDS order)`` straight from a serialized
    ModelMetrics, without building dicts (the hot loop of a 1.3M-record conversion)."""
    spans: list[tuple[int, int]] = []
    params = -1
    i, n = 0, len(b)
    while i < n:
        key = b[i]
        if key < 0x80:  # every ModelMetrics key fits in one byte; lengths mostly too
            i += 1
        else:
            key, i = _varint(b, i)
        wt = key & 7
        if wt == 2:
            ln = b[i]
            if ln < 0x80:
                i += 1
            else:
                ln, i = _varint(b, i)
            if key >> 3 == 1:
                spans.append((i, i + ln))
            i += ln
        elif wt == 0:
            val, i = _varint(b, i)
            if key >> 3 == 2:
                params = val - (1 << 64) if val >= 1 << 63 else val
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
    if i > n:
        raise ValueError("message ends inside a field")
    if len(spans) < 3:
        raise IndexError("ModelMetrics has fewer than 3 evaluations")
    h_time, h_train, h_val, h_test = _eval_values(b, *spans[1])
    f_time, f_train, f_val, f_test = _eval_values(b, *spans[2])
    return params, (f_val, f_test, f_train, f_time, h_val, h_test)


def decode_eval(b: bytes) -> dict:
    """Decode one ``EvaluationData`` (all fields, any order; unknown fields skipped)."""
    out: dict = {}
    for field, wt, val in _fields(b):
        if wt == 1 and field in EVAL_FIELDS:
            out[EVAL_FIELDS[field]] = _unpack_d(val)[0]  # type: ignore[arg-type]
        elif field == 6 and wt == 2:
            out["checkpoint_path"] = val.decode("utf-8", "replace")  # type: ignore[union-attr]
    return out


def decode_model_metrics(b: bytes) -> dict:
    """Decode a serialized ``nasbench.ModelMetrics`` into plain Python values."""
    evals: list[dict] = []
    out: dict = {"evaluation_data": evals}
    for field, wt, val in _fields(b):
        if field == 1 and wt == 2:
            evals.append(decode_eval(val))  # type: ignore[arg-type]
        elif field == 2 and wt == 0:
            v = int(val)  # type: ignore[call-overload]
            out["trainable_parameters"] = v - (1 << 64) if v >= 1 << 63 else v
        elif field == 3 and wt == 1:
            out["total_time"] = _unpack_d(val)[0]  # type: ignore[arg-type]
    return out
