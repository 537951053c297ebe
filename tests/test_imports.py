"""Importing published per-architecture scores: NAS-Bench-Suite-Zero JSONs and Abdelfattah et al.'s pickles.

The miniature files are written here in the exact published layouts (keys built the way NASLib's
``get_hash`` prints them, pickles appended the way ``nasbench2_pred.py`` writes them); the expected
architecture strings are written out by hand.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from zcbench.errors import ArchError, DumpError, UsageError
from zcbench.imports.abdelfattah import read_abdelfattah, read_all_graphs
from zcbench.imports.agreement import agreement, transform_for
from zcbench.imports.base import ImportedRun, detect, file_sha256
from zcbench.imports.naslib import read_suite_zero
from zcbench.report import stats
from zcbench.spaces import get_space, nb101, nb201, nb301, tnb101
from zcbench.spaces.darts_genotype import genotype_to_compact, parse_genotype

REPO = Path(__file__).resolve().parents[1]

# -- hand-checked conversions ----------------------------------------------------------------------

# NASLib op order: 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3;
# tuple positions = edges (1,2), (1,3), (1,4), (2,3), (2,4), (3,4); edge (i,j) is op~(i-1) of node j.
NB201_CASES = [
    # (1,2) avg | (1,3) none, (2,3) skip | (1,4) skip, (2,4) skip, (3,4) conv1x1. This pair is also in
    # NASLib's own files: key "(4, 1, 0, 0, 0, 3)" of zc_nasbench201.json holds the scores that
    # ../shared/data/naslib-zc lists under this official string.
    ("(4, 1, 0, 0, 0, 3)", "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|"),
    (
        "(4, 3, 3, 3, 2, 3)",
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    ),
    ("(0, 1, 2, 3, 4, 0)", "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|"),
    ("(2, 0, 4, 1, 3, 2)", "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"),
    ("(1, 1, 1, 1, 1, 1)", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
]


@pytest.mark.parametrize("key,official", NB201_CASES)
def test_nb201_naslib_tuple_to_official_string(key, official):
    assert nb201.naslib_key_to_arch(key) == official
    assert nb201.naslib_key_to_arch(key.replace("(", "[").replace(")", "]")) == official


@pytest.mark.parametrize(
    "key", ["(5, 0, 0, 0, 0, 0)", "(0, 1, 2, 3, 4)", "(0, 1, 2, 3, 4, 0, 1)", "abc", "(0,1,2,3,4,-1)"]
)
def test_nb201_bad_naslib_keys(key):
    with pytest.raises(ArchError):
        nb201.naslib_key_to_arch(key)


def _nb101_key(matrix: list[list[int]], ops: list[int]) -> str:
    """NASLib ``convert_spec_to_tuple``: matrix flattened row-major, then op indices (numpy 1.x repr)."""
    return str(tuple([*np.asarray(matrix).flatten().tolist(), *ops]))


# NASLib NB101 op indices: 0 input, 1 output, 2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu.
# in -> v1 (conv3x3) -> out, in -> v2 (conv1x1) -> out, v3 (maxpool) dangling, padded to 7 vertices.
NB101_PADDED = (
    [
        [0, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    [0, 4, 3, 2, 2, 2, 1],
)
NB101_PRUNED = (
    '{"matrix":[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]],"ops":["input","conv3x3-bn-relu","conv1x1-bn-relu","output"]}'
)
# the same graph with the two branches swapped (an isomorph) and with the padding elsewhere
NB101_ISOMORPH = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [0, 3, 4, 1])
NB101_REPADDED = (
    [
        [0, 0, 1, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    [0, 3, 4, 3, 4, 4, 1],
)
NB101_CHAIN = (  # in -> maxpool -> conv1x1 -> out: checks NASLib's op indices 2 and 3
    [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
    [0, 2, 3, 1],
)


def test_nb101_naslib_key_to_pruned_spec():
    assert nb101.naslib_key_to_arch(_nb101_key(*NB101_PADDED)) == NB101_PRUNED
    assert nb101.naslib_key_to_arch(_nb101_key(*NB101_CHAIN)) == (
        '{"matrix":[[0,1,0,0],[0,0,1,0],[0,0,0,1],[0,0,0,0]],"ops":["input","maxpool3x3","conv1x1-bn-relu","output"]}'
    )
    # numpy >= 2 prints its integers as np.int64(0); the key is still read
    np2 = "(" + ", ".join(f"np.int64({v})" for v in [*np.ravel(NB101_CHAIN[0]), *NB101_CHAIN[1]]) + ")"
    assert nb101.naslib_key_to_arch(np2) == nb101.naslib_key_to_arch(_nb101_key(*NB101_CHAIN))


@pytest.mark.parametrize(
    "key",
    [
        "(0, 1, 0, 0, 2, 1)",  # 6 = 2*2+2 but op 2 on the output vertex
        str(tuple([0] * 55)),  # not V*V + V
        _nb101_key([[0, 1], [0, 0]], [0, 5]),  # op index out of range
        _nb101_key([[0, 0], [0, 0]], [0, 1]),  # input not connected to output
    ],
)
def test_nb101_bad_naslib_keys(key):
    with pytest.raises(ArchError):
        nb101.naslib_key_to_arch(key)


NB301_COMPACT = (
    ((0, 4), (1, 3), (0, 2), (2, 3), (2, 3), (0, 3), (2, 6), (3, 5)),
    ((0, 3), (1, 3), (1, 1), (0, 5), (2, 3), (0, 2), (4, 4), (3, 1)),
)
# compact pair (input, op) with op index into max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3,
# sep_conv_5x5, dil_conv_3x3, dil_conv_5x5 (NASLib convert_compact_to_genotype)
NB301_GENOTYPE = (
    "Genotype(normal=[('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2), "
    "('sep_conv_3x3', 2), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('dil_conv_3x3', 3)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 1), ('dil_conv_3x3', 0), "
    "('sep_conv_3x3', 2), ('skip_connect', 0), ('sep_conv_5x5', 4), ('avg_pool_3x3', 3)], reduce_concat=[2, 3, 4, 5])"
)


def test_nb301_naslib_key_to_genotype():
    assert nb301.naslib_key_to_arch(str(NB301_COMPACT)) == NB301_GENOTYPE
    early = str([list(cell) for cell in NB301_COMPACT])  # the benchmarks branch wrote lists of cells
    assert early.startswith("[[(0, 4)")
    assert nb301.naslib_key_to_arch(early) == NB301_GENOTYPE
    with pytest.raises(ArchError):
        nb301.naslib_key_to_arch("((0, 7),)")


def test_tnb101_naslib_keys():
    assert tnb101.naslib_key_to_arch("(0, 1, 2, 3, 0, 1)", "tnb101_micro") == "64-41414-0_12_301"
    assert tnb101.naslib_key_to_arch("(2, 3, 1, 4)", "tnb101_macro") == "64-2314-basic"
    assert tnb101.naslib_key_to_arch("(2, 3, 1, 4, 0, 0)", "tnb101_macro") == "64-2314-basic"
    for key, space in [("(0, 1, 2, 3, 4, 1)", "tnb101_micro"), ("(1, 1, 1, 1)", "tnb101_macro"), ("x", "tnb101_micro")]:
        with pytest.raises(ArchError):
            tnb101.naslib_key_to_arch(key, space)


# -- miniature NAS-Bench-Suite-Zero files -----------------------------------------------------------

PROXIES = ("jacov", "synflow", "nwot")


def _entry(val: float, seed: int, **extra) -> dict:
    """One architecture's record as NASLib's runner writes it: val_accuracy + {'score', 'time'} per proxy."""
    rng = np.random.default_rng(seed)
    out: dict = {p: {"score": float(rng.normal(10, 3)), "time": float(rng.uniform(0.1, 2))} for p in PROXIES}
    out["val_accuracy"] = val
    out.update(extra)
    return out


def _write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))  # json.dumps writes NaN/Infinity like NASLib's json.dump
    return path


NB201_KEYS = [k for k, _ in NB201_CASES]
MINI = {  # benchmark name -> (datasets, keys)
    "nasbench201": (("cifar10", "cifar100", "ImageNet16-120"), NB201_KEYS),
    "nasbench101": (("cifar10",), [_nb101_key(*NB101_PADDED), _nb101_key(*NB101_CHAIN)]),
    "nasbench301": (("cifar10",), [str(NB301_COMPACT)]),
    "transbench101_micro": (("class_scene", "jigsaw"), ["(0, 1, 2, 3, 0, 1)", "(3, 3, 3, 3, 3, 3)"]),
    "transbench101_macro": (("room_layout", "normal"), ["(2, 3, 1, 4)", "(1, 2, 3, 3)", "(4, 4, 2, 1, 1, 1)"]),
}
SPACE_OF = {
    "nasbench201": "nb201",
    "nasbench101": "nb101",
    "nasbench301": "nb301[naslib]",
    "transbench101_micro": "tnb101_micro",
    "transbench101_macro": "tnb101_macro",
}


def _mini(tmp_path: Path, bench: str, name: str | None = None) -> tuple[Path, dict]:
    datasets, keys = MINI[bench]
    obj = {ds: {k: _entry(50.0 + 7 * i + d, 100 * d + i) for i, k in enumerate(keys)} for d, ds in enumerate(datasets)}
    return _write(tmp_path / (name or f"zc_{bench}.json"), obj), obj


@pytest.mark.parametrize("bench", list(MINI))
def test_read_every_benchmark_in_the_published_layout(tmp_path, bench):
    path, obj = _mini(tmp_path, bench)
    runs = read_suite_zero(path)
    datasets, keys = MINI[bench]
    assert [(r.dataset, r.proxy) for r in runs] == [(ds, p) for ds in datasets for p in sorted(PROXIES)]
    sp = get_space(SPACE_OF[bench].split("[")[0])
    raw = path.read_bytes()
    for r in runs:
        assert r.space == SPACE_OF[bench] and r.origin == "naslib"
        assert r.source == path.name and r.sha256 == hashlib.sha256(raw).hexdigest() == file_sha256(path)
        assert r.archs == [sp.parse(a) for a in r.archs]  # canonical already
        entries = list(obj[r.dataset].values())
        np.testing.assert_array_equal(r.scores, [e[r.proxy]["score"] for e in entries])
        np.testing.assert_array_equal(r.seconds, [e[r.proxy]["time"] for e in entries])
        np.testing.assert_array_equal(r.val_accuracy, [e["val_accuracy"] for e in entries])
        assert np.isnan(r.test_accuracy).all()
        assert r.transform == ("naslib_log" if r.proxy == "synflow" else "")
        assert r.column == f"{r.proxy}@naslib"
        assert r.scores.dtype == np.float64


def test_converted_architectures_of_the_miniatures(tmp_path):
    by_bench = {b: read_suite_zero(_mini(tmp_path, b)[0])[0].archs for b in MINI}
    assert by_bench["nasbench201"] == [s for _, s in NB201_CASES]
    assert by_bench["nasbench101"][0] == NB101_PRUNED
    assert by_bench["nasbench301"] == [NB301_GENOTYPE]
    assert by_bench["transbench101_micro"] == ["64-41414-0_12_301", "64-41414-3_33_333"]
    assert by_bench["transbench101_macro"] == ["64-2314-basic", "64-1233-basic", "64-442111-basic"]


def test_spearman_of_imported_arrays_equals_scipy_by_hand(tmp_path):
    scores = [3.0, -1.0, 7.5, 2.0, 7.5]
    accs = [71.0, 60.5, 90.25, 88.0, 85.0]
    obj = {
        "cifar100": {
            k: {"snip": {"score": s, "time": 0.5}, "val_accuracy": a} for k, s, a in zip(NB201_KEYS, scores, accs)
        }
    }
    (run,) = read_suite_zero(_write(tmp_path / "zc_nasbench201.json", obj))
    expected = st.spearmanr(scores, accs).statistic
    assert stats.spearman(run.scores, run.val_accuracy) == pytest.approx(expected, abs=1e-12)
    # by hand: score ranks (3, 1, 4.5, 2, 4.5) (ties at 7.5 share 4.5), accuracy ranks (2, 1, 5, 4, 3);
    # centred: (0, -2, 1.5, -1, 1.5) . (-1, -2, 2, 1, 0) = 6, norms^2 9.5 and 10
    assert expected == pytest.approx(6 / math.sqrt(9.5 * 10), abs=1e-12)


def test_duplicates_after_canonicalisation_are_kept_once(tmp_path):
    keys = [
        _nb101_key(*NB101_PADDED),
        _nb101_key(*NB101_CHAIN),
        _nb101_key(*NB101_ISOMORPH),
        _nb101_key(*NB101_REPADDED),
    ]
    obj = {
        "cifar10": {
            k: {"params": {"score": float(i), "time": 0.0}, "val_accuracy": 90.0 + i} for i, k in enumerate(keys)
        }
    }
    (run,) = read_suite_zero(_write(tmp_path / "zc_nasbench101.json", obj))
    assert run.archs == [NB101_PRUNED, nb101.naslib_key_to_arch(keys[1])]
    np.testing.assert_array_equal(run.scores, [0.0, 1.0])  # first occurrence kept
    np.testing.assert_array_equal(run.val_accuracy, [90.0, 91.0])
    assert any("2 of 4 keys dropped" in n for n in run.notes)

    macro = {"normal": {k: {"zen": {"score": 1.0, "time": 0.0}} for k in ("(2, 3, 1, 4)", "(2, 3, 1, 4, 0, 0)")}}
    (run,) = read_suite_zero(_write(tmp_path / "zc_transbench101_macro.json", macro))
    assert run.archs == ["64-2314-basic"] and any("1 of 2 keys dropped" in n for n in run.notes)
    assert np.isnan(run.val_accuracy).all()


def test_nb101_with_a_loaded_space_uses_its_spelling(tmp_path):
    """With ``spaces={'nb101': ...}`` the space's own parse decides the spelling (here a stub that
    knows the isomorph as the stored representative, as a dump-loaded NB101 does)."""
    iso = nb101.naslib_key_to_arch(_nb101_key(*NB101_ISOMORPH))
    assert iso != NB101_PRUNED

    class Stored(type(get_space("nb101"))):
        def parse(self, text):
            canon = super().parse(text)
            return iso if canon == NB101_PRUNED else canon

    obj = {"cifar10": {_nb101_key(*NB101_PADDED): {"params": {"score": 1.0, "time": 0.0}, "val_accuracy": 90.0}}}
    (run,) = read_suite_zero(_write(tmp_path / "zc_nasbench101.json", obj), spaces={"nb101": Stored()})
    assert run.archs == [iso]


def test_early_benchmarks_branch_layout(tmp_path):
    """NASLib's May-2022 files: {benchmark: {dataset: {key: {proxy: number, 'val_accuracy': ...}}}}."""
    obj = {
        "nasbench201": {
            "cifar10": {k: {"synflow": 40.0 + i, "flops": 1.5, "val_accuracy": 80.0} for i, k in enumerate(NB201_KEYS)}
        }
    }
    runs = read_suite_zero(_write(tmp_path / "early.json", obj))
    assert [(r.space, r.proxy) for r in runs] == [("nb201", "flops"), ("nb201", "synflow")]
    np.testing.assert_array_equal(runs[1].scores, [40.0, 41.0, 42.0, 43.0, 44.0])
    assert np.isnan(runs[1].seconds).all()
    assert any("early NASLib layout" in n for n in runs[1].notes)


def test_missing_non_numeric_and_failed_scores(tmp_path):
    entries = {
        NB201_KEYS[0]: {
            "zen": {"score": 2.0, "time": 1.0},
            "grasp": {"score": -1e8, "time": 1.0},
            "val_accuracy": 70.0,
        },
        NB201_KEYS[1]: {"zen": {"score": None, "time": 1.0}, "grasp": {"score": float("-inf"), "time": 1.0}},
        NB201_KEYS[2]: {"zen": {"score": "n/a", "time": 1.0}, "idx": "7", "arch": NB201_KEYS[2], "val_accuracy": 72.0},
    }
    runs = {r.proxy: r for r in read_suite_zero(_write(tmp_path / "zc_nasbench201.json", {"cifar10": entries}))}
    assert set(runs) == {"zen", "grasp"}  # idx/arch are the runner's bookkeeping, not proxies
    np.testing.assert_array_equal(runs["zen"].scores, [2.0, np.nan, np.nan])
    assert any("2 non-numeric" in n for n in runs["zen"].notes)
    np.testing.assert_array_equal(runs["grasp"].scores, [-1e8, -np.inf, np.nan])
    notes = " | ".join(runs["grasp"].notes)
    assert "absent for 1 of 3" in notes and "1 published scores are not finite" in notes and "-1e8" in notes
    np.testing.assert_array_equal(runs["zen"].val_accuracy, [70.0, np.nan, 72.0])


def test_benchmark_from_the_space_argument_or_the_key_shapes(tmp_path):
    for bench in MINI:
        path, _ = _mini(tmp_path, bench, name="scores.json")
        assert read_suite_zero(path)[0].space == SPACE_OF[bench]  # guessed from datasets and keys
        assert read_suite_zero(path, space=SPACE_OF[bench].split("[")[0])[0].space == SPACE_OF[bench]
        assert read_suite_zero(path, space=bench)[0].space == SPACE_OF[bench]
    with pytest.raises(UsageError, match="no space 'nb999'"):
        read_suite_zero(path, space="nb999")


def test_ambiguous_keys_ask_for_the_name(tmp_path):
    """Six digits 1-3 on a Taskonomy task fit both TNB101 spaces: the file must say which."""
    path = _write(tmp_path / "scores.json", {"jigsaw": {"(1, 2, 3, 1, 2, 3)": _entry(50.0, 0)}})
    with pytest.raises(DumpError, match="cannot tell"):
        read_suite_zero(path)
    assert read_suite_zero(path, space="tnb101_macro")[0].archs == ["64-123123-basic"]
    assert read_suite_zero(path, space="tnb101_micro")[0].archs == ["64-41414-1_23_123"]


def _one_line_dump_error(fn, *args, match: str = "", **kw) -> str:
    with pytest.raises(DumpError) as info:
        fn(*args, **kw)
    msg = str(info.value)
    assert "\n" not in msg and msg
    assert match in msg
    return msg


def test_corrupt_or_foreign_json_is_one_line(tmp_path):
    path, _ = _mini(tmp_path, "nasbench201")
    (tmp_path / "zc_nasbench201_cut.json").write_bytes(path.read_bytes()[:-40])
    cases = {
        "zc_nasbench201_cut.json": "truncated or invalid JSON",
        "list.json": "top level is list",
        "flat.json": "not an object of architectures",
        "scalars.json": "architecture entries",
        "foreign.json": "match no NAS-Bench-Suite-Zero benchmark",
        "empty.json": "top level is dict",
        "binary.json": "not a text file",
    }
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "flat.json").write_text('{"cifar10": [1, 2]}')
    (tmp_path / "scalars.json").write_text('{"cifar10": {"(0, 1, 2, 3, 4, 0)": 3.5}}')
    (tmp_path / "foreign.json").write_text('{"cifar10": {"resnet18": {"val_accuracy": 93.0}}}')
    (tmp_path / "empty.json").write_text("{}")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    for name, match in cases.items():
        _one_line_dump_error(read_suite_zero, tmp_path / name, match=match)
    _one_line_dump_error(read_suite_zero, tmp_path / "absent.json", match="no such file")
    _one_line_dump_error(read_suite_zero, tmp_path, match="is a folder")


def test_wrong_benchmark_is_refused(tmp_path):
    path, _ = _mini(tmp_path, "nasbench301", name="zc_nasbench201.json")  # NB301 keys under an NB201 name
    _one_line_dump_error(read_suite_zero, path, match="architecture 0")
    path, _ = _mini(tmp_path, "nasbench201")
    _one_line_dump_error(
        read_suite_zero, path, space="nb101", match="the space given says nb101 but the file name says nb201"
    )
    early = _write(tmp_path / "zc_nasbench101.json", {"nasbench201": {"cifar10": {NB201_KEYS[0]: _entry(1.0, 0)}}})
    _one_line_dump_error(read_suite_zero, early, match="the file says nb201")


def test_datasets_zcbench_lacks_are_left_out_with_a_note(tmp_path):
    obj = {"cifar10": {NB201_KEYS[0]: _entry(60.0, 1)}, "svhn": {NB201_KEYS[0]: _entry(90.0, 2)}}
    runs = read_suite_zero(_write(tmp_path / "zc_nasbench201.json", obj))
    assert {r.dataset for r in runs} == {"cifar10"}
    assert any("left out: svhn" in n for n in runs[0].notes)
    _one_line_dump_error(
        read_suite_zero, _write(tmp_path / "zc_nasbench201.json", {"svhn": obj["svhn"]}), match="none of its datasets"
    )


def test_detect(tmp_path):
    path, _ = _mini(tmp_path, "nasbench201")
    assert detect(path) == "naslib"
    pk = tmp_path / "nb2_cf10_seed42_dlrandom_dlinfo1_initwnone_initbnone.p"
    pk.write_bytes(pickle.dumps({"i": 0}, protocol=3))
    assert detect(pk) == "abdelfattah"
    (tmp_path / "table.csv").write_text("arch,val_accuracy\n")
    _one_line_dump_error(detect, tmp_path / "table.csv", match="neither")
    _one_line_dump_error(detect, tmp_path / "nothing.json", match="no such file")
    _one_line_dump_error(detect, tmp_path, match="folder")  # mixes JSON, CSV and pickles


def test_imported_run_checks_its_shape():
    with pytest.raises(ValueError, match="scores"):
        ImportedRun(
            "nb201", "cifar10", "zen", "naslib", ["a", "b"], [1.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0], "f", "0"
        )
    with pytest.raises(ValueError, match="duplicates"):
        ImportedRun("nb201", "cifar10", "zen", "naslib", ["a", "a"], *[[1.0, 2.0]] * 4, "f", "0")


def test_importing_the_package_does_not_import_torch():
    code = "import sys, zcbench.imports, zcbench.imports.base; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


# -- agreement ---------------------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    raw = np.array([3.0, 0.5, 20.0, -4.0, 7.0, 1e3])
    snip = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    n = len(raw)
    archs = [f"a{i}" for i in range(n)]
    rows = {
        "space": ["nb201"] * n,
        "dataset": ["cifar10"] * n,
        "index": range(n),
        "arch": archs,
        "snip": snip,
        "snip@naslib": snip,  # identical
        "synflow": raw,
        "synflow@naslib": stats.naslib_log(raw),  # NASLib logged it
        "grasp": raw,  # ours only
        "jacov": snip,
        "jacov@naslib": snip / 2,  # half of ours, reversed order below
        "val_accuracy": np.linspace(50, 90, n),
        "test_accuracy": np.nan,
    }
    df = pd.DataFrame(rows)
    df.loc[:, "jacov@naslib"] = df["jacov@naslib"].to_numpy()[::-1]
    return df


def test_agreement_identical_and_transformed_columns():
    out = agreement(_frame())
    assert list(out.columns) == ["space", "dataset", "proxy", "n", "spearman", "median_ratio", "note"]
    rows = out.set_index("proxy")
    assert set(rows.index) == {"snip", "synflow", "jacov"}  # grasp has no imported column
    assert rows.loc["snip", "spearman"] == pytest.approx(1.0) and rows.loc["snip", "median_ratio"] == pytest.approx(1.0)
    assert rows.loc["synflow", "n"] == 6
    assert rows.loc["synflow", "spearman"] == pytest.approx(1.0)
    assert rows.loc["synflow", "median_ratio"] == pytest.approx(1.0)
    assert "naslib_log" in rows.loc["synflow", "note"]
    assert transform_for("naslib", "synflow") == "naslib_log" and transform_for("abdelfattah", "synflow") == ""
    assert rows.loc["jacov", "spearman"] == pytest.approx(-1.0)
    # ours 1..6 against theirs 3, 2.5, 2, 1.5, 1, 0.5: the median of the ratios, by hand
    assert rows.loc["jacov", "median_ratio"] == pytest.approx(np.median(np.arange(1, 7) / np.arange(6, 0, -1) * 2))


def test_agreement_without_the_transform_would_not_be_one():
    df = _frame().rename(columns={"synflow": "plain", "synflow@naslib": "plain@naslib"})
    row = agreement(df).set_index("proxy").loc["plain"]
    assert row["median_ratio"] != pytest.approx(1.0)  # the table only logs NASLib's synflow


def test_agreement_compares_within_one_space_string_and_needs_two_values():
    df = _frame()
    ours = df.assign(space="nb301", **{"snip@naslib": np.nan})
    theirs = df.assign(space="nb301[naslib]", snip=np.nan)
    out = agreement(pd.concat([ours, theirs], ignore_index=True))
    assert "snip" not in set(out["proxy"])
    few = df.copy()
    few.loc[1:, "snip@naslib"] = np.nan
    assert "snip" not in set(agreement(few)["proxy"])
    assert agreement(df, origin="abdelfattah").empty
    assert agreement(df.iloc[:0]).empty


def test_agreement_zero_published_values_left_out_of_the_ratio():
    df = _frame()
    df.loc[0, "snip@naslib"] = 0.0
    row = agreement(df).set_index("proxy").loc["snip"]
    assert row["n"] == 6 and row["median_ratio"] == pytest.approx(1.0) and "1 zero" in row["note"]


# -- Abdelfattah et al.'s pickles ------------------------------------------------------------------

NB2_NAME = "nb2_cf100_seed42_dlrandom_dlinfo1_initwnone_initbnone.p"


def _append(path: Path, records: list[dict]) -> Path:
    for rec in records:  # nasbench2_pred.py: open(op, 'ab'); pickle.dump(cr, pf) per record
        with open(path, "ab") as fh:
            pickle.dump(rec, fh, protocol=3)
    return path


def _nb2_records() -> list[dict]:
    archs = [s for _, s in NB201_CASES]
    return [
        {
            "i": i,
            "arch": a,
            "logmeasures": {
                "grad_norm": 1.5 * i,
                "jacob_cov": np.float64(-30.0 - i) if i != 2 else np.nan,
                "synflow": 10.0**i,
            },
            "trainacc": 99.0,
            "valacc": 60.0 + i,
            "testacc": 61.0 + i,
        }
        for i, a in enumerate(archs)
    ]


def test_abdelfattah_nb201_pickle(tmp_path):
    recs = _nb2_records()
    path = _append(tmp_path / NB2_NAME, recs + recs[:2])  # a restarted run appends again
    runs = {r.proxy: r for r in read_abdelfattah(path)}
    assert set(runs) == {"grad_norm", "jacov", "synflow"}
    r = runs["jacov"]
    # Samsung scored its own NAS201Model: zcbench's --variant samsung, stored as nb201[samsung]
    assert (r.space, r.dataset, r.origin, r.source) == ("nb201[samsung]", "cifar100", "abdelfattah", NB2_NAME)
    assert r.sha256 == file_sha256(path)
    assert r.archs == [s for _, s in NB201_CASES]
    np.testing.assert_array_equal(r.scores, [-30.0, -31.0, np.nan, -33.0, -34.0])
    np.testing.assert_array_equal(r.val_accuracy, [60.0, 61.0, 62.0, 63.0, 64.0])
    np.testing.assert_array_equal(r.test_accuracy, [61.0, 62.0, 63.0, 64.0, 65.0])
    assert np.isnan(r.seconds).all() and r.transform == ""
    notes = " | ".join(r.notes)
    assert "2 of 7 records dropped" in notes and "published as jacob_cov" in notes
    assert runs["synflow"].transform == ""  # Samsung's synflow is the raw sum
    rho = stats.spearman(runs["synflow"].scores, runs["synflow"].test_accuracy)
    assert rho == pytest.approx(st.spearmanr([10.0**i for i in range(5)], [61, 62, 63, 64, 65]).statistic)


def test_abdelfattah_dataset_from_name_or_argument(tmp_path):
    plain = _append(tmp_path / "scores.p", _nb2_records())
    _one_line_dump_error(read_abdelfattah, plain, match="cannot tell the dataset")
    assert read_abdelfattah(plain, dataset="ImageNet16-120")[0].dataset == "ImageNet16-120"
    named = _append(tmp_path / NB2_NAME, _nb2_records())
    _one_line_dump_error(read_abdelfattah, named, dataset="cifar10", match="file name says cifar100")
    _one_line_dump_error(read_abdelfattah, named, space="nb101", match="nb201 results, not nb101")
    assert read_abdelfattah(named, space="nb201[samsung]")[0].space == "nb201[samsung]"
    with pytest.raises(UsageError):
        read_abdelfattah(plain, dataset="imagenet")


def _nb1_records(hashes: list[str]) -> list[dict]:
    return [{"hash": h, "logmeasures": {"snip": float(i), "jacob_cov": -float(i)}} for i, h in enumerate(hashes)]


def test_abdelfattah_nb101_folder_with_a_resolver(tmp_path):
    specs = {  # module hash -> canonical spec, computed by zcbench's official-hash code
        nb101.module_hash(*nb101.spec_from_string(s)): s
        for s in (NB101_PRUNED, nb101.naslib_key_to_arch(_nb101_key(*NB101_CHAIN)))
    }
    h = list(specs)
    folder = tmp_path / "proxies"
    folder.mkdir()
    _append(folder / "part0.p", _nb1_records(h[:1]))
    _append(folder / "part1.p", _nb1_records(h[:1] + h[1:]))  # overlaps part0, as the released files do
    _one_line_dump_error(read_abdelfattah, folder, match="module hash only")
    assert detect(folder) == "abdelfattah"
    for resolver in (specs, specs.__getitem__):
        runs = {r.proxy: r for r in read_abdelfattah(folder, hash_to_arch=resolver)}
        r = runs["snip"]
        assert (r.space, r.dataset, r.source) == ("nb101", "cifar10", "proxies/")
        assert r.archs == [specs[h[0]], specs[h[1]]]
        np.testing.assert_array_equal(r.scores, [0.0, 1.0])
        assert np.isnan(r.val_accuracy).all() and np.isnan(r.test_accuracy).all()
        assert any("1 of 3 records dropped" in n for n in r.notes)
        assert any("no accuracies" in n for n in r.notes)
    _one_line_dump_error(read_abdelfattah, folder, hash_to_arch={}, match="not known to the resolver")


def test_all_graphs_json(tmp_path):
    h = nb101.module_hash(*nb101.spec_from_string(NB101_PRUNED))
    # labels as nasbench1_pred.py reads them: -1 input, -2 output, 0 conv3x3, 1 conv1x1, 2 maxpool
    graphs = {h: [[[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [-1, 0, 1, -2]]}
    path = _write(tmp_path / "all_graphs.json", graphs)
    assert read_all_graphs(path) == {h: NB101_PRUNED}
    _write(path, {h: [[[0, 1], [0, 0]], [-1, 7]]})
    _one_line_dump_error(read_all_graphs, path, match="graph")


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_abdelfattah_refuses_unsafe_truncated_and_foreign_pickles(tmp_path):
    evil = tmp_path / "evil.p"
    evil.write_bytes(pickle.dumps({"i": 0, "arch": NB201_CASES[0][1], "logmeasures": {"snip": _Evil()}}, protocol=3))
    _one_line_dump_error(read_abdelfattah, evil, dataset="cifar10", match="refusing to unpickle disallowed global")
    good = _append(tmp_path / NB2_NAME, _nb2_records())
    (tmp_path / "cut.p").write_bytes(good.read_bytes()[:-5])
    _one_line_dump_error(read_abdelfattah, tmp_path / "cut.p", dataset="cifar10", match="record 4")
    econas = _append(tmp_path / "nb2_fast_train.p", [{"i": 0, "arch": "x", "logmeasures": [{"val_acc": 1.0}]}])
    _one_line_dump_error(read_abdelfattah, econas, dataset="cifar10", match="EcoNAS")
    other = _append(tmp_path / "other.p", [{"model": "resnet", "acc": 1.0}])
    _one_line_dump_error(read_abdelfattah, other, match="expected nasbench2_pred.py")
    mixed = _append(tmp_path / "mixed.p", _nb2_records()[:1] + _nb1_records(["0" * 32]))
    _one_line_dump_error(read_abdelfattah, mixed, dataset="cifar10", match="mixes")
    (tmp_path / "empty.p").write_bytes(b"")
    _one_line_dump_error(read_abdelfattah, tmp_path / "empty.p", match="empty")


# -- the real NASLib sample rows (../shared/data) -----------------------------------------------------


def _official_to_naslib(arch: str) -> str:
    """NASLib ``convert_str_to_op_indices``: for each edge (u, v) of EDGE_LIST, node v's input u."""
    nodes = [[e.split("~")[0] for e in n.strip("|").split("|")] for n in arch.split("+")]
    ops = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
    return str(tuple(ops.index(nodes[v - 2][u - 1]) for u, v in ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))))


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_real_naslib_rows_round_trip(shared_data, tmp_path):
    """The sample rows (official strings, converted independently) written back under the keys NASLib's
    own encoders give, then imported: same architectures, scores, accuracies and ρ."""
    folder = shared_data / "naslib-zc"
    nb101_ops = ["input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu"]
    encoders = {
        "nb201": _official_to_naslib,
        "nb101": lambda a: _nb101_key(json.loads(a)["matrix"], [nb101_ops.index(o) for o in json.loads(a)["ops"]]),
        "nb301": lambda a: str(genotype_to_compact(parse_genotype(a))),
    }
    files = {"nb201": ("cifar10", "cifar100", "ImageNet16-120"), "nb101": ("cifar10",), "nb301": ("cifar10",)}
    bench = {"nb201": "nasbench201", "nb101": "nasbench101", "nb301": "nasbench301"}
    for space, datasets in files.items():
        obj, tables = {}, {}
        for ds in datasets:
            rows = _rows(folder / f"{space}_{ds}.csv")
            tables[ds] = rows
            obj[ds] = {
                encoders[space](r["arch"]): {
                    **{p: {"score": float(r[p]), "time": 0.0} for p in ("synflow", "jacov", "params")},
                    "val_accuracy": float(r["val_accuracy"]),
                }
                for r in rows
            }
        runs = read_suite_zero(_write(tmp_path / f"zc_{bench[space]}.json", obj))
        sp = get_space(space)
        for r in runs:
            rows = tables[r.dataset]
            first: dict[str, dict] = {}
            for row in rows:  # the CSV keeps NB101 isomorphs; the import keeps the first of each graph
                arch = sp.parse(row["arch"])
                key = nb101.module_hash(*nb101.spec_from_string(arch)) if space == "nb101" else arch
                first.setdefault(key, {**row, "canon": arch})
            want = list(first.values())
            assert r.archs == [w["canon"] for w in want], (space, r.dataset)
            np.testing.assert_allclose(r.scores, [float(w[r.proxy]) for w in want])
            np.testing.assert_allclose(r.val_accuracy, [float(w["val_accuracy"]) for w in want])
            by_hand = st.spearmanr([float(w[r.proxy]) for w in want], [float(w["val_accuracy"]) for w in want])
            assert stats.spearman(r.scores, r.val_accuracy) == pytest.approx(by_hand.statistic, abs=1e-12)
            if space == "nb201":
                assert len(want) == len(rows) == 235
            if space == "nb101":
                assert len(want) < len(rows)  # isomorphs and padded twins collapsed
