"""NB301 / DARTS space: genotype strings, ground-truth readers and the three network variants."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from zcbench.errors import ArchError, DumpError, UsageError
from zcbench.spaces import get_space
from zcbench.spaces.darts_genotype import (
    COMPACT_OPS,
    NB301_OPS,
    compact_to_genotype,
    config_to_genotype,
    format_genotype,
    genotype_to_compact,
    genotype_to_config,
    parse_genotype,
)
from zcbench.spaces.darts_model import NetworkCIFAR
from zcbench.spaces.nb301 import in_nb301_space

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
P = "NetworkSelectorDatasetInfo:darts:"
# The config of automl/nasbench301 nasbench301/surrogate_models/test/results_fidelity_0/results_0.json
# (Apache-2.0): a C=50, L=20 run whose info[0]['model_parameters'] is 6,369,358.
NB301_SAMPLE_CONFIG = {
    P + "edge_normal_0": "skip_connect",
    P + "edge_normal_1": "sep_conv_3x3",
    P + "edge_reduce_0": "max_pool_3x3",
    P + "edge_reduce_1": "avg_pool_3x3",
    P + "inputs_node_normal_3": "0_1",
    P + "inputs_node_normal_4": "0_2",
    P + "inputs_node_normal_5": "1_2",
    P + "inputs_node_reduce_3": "0_1",
    P + "inputs_node_reduce_4": "1_2",
    P + "inputs_node_reduce_5": "2_3",
    P + "edge_normal_10": "sep_conv_3x3",
    P + "edge_normal_11": "skip_connect",
    P + "edge_normal_2": "sep_conv_3x3",
    P + "edge_normal_3": "skip_connect",
    P + "edge_normal_5": "dil_conv_3x3",
    P + "edge_normal_7": "dil_conv_5x5",
    P + "edge_reduce_11": "sep_conv_3x3",
    P + "edge_reduce_12": "dil_conv_3x3",
    P + "edge_reduce_2": "skip_connect",
    P + "edge_reduce_3": "dil_conv_5x5",
    P + "edge_reduce_6": "sep_conv_3x3",
    P + "edge_reduce_7": "sep_conv_5x5",
    "NetworkSelectorDatasetInfo:network": "darts",
}


@pytest.fixture(scope="module")
def space():
    return get_space("nb301")


def n_params(net: torch.nn.Module, skip_aux: bool = False) -> int:
    return sum(p.numel() for k, p in net.named_parameters() if not (skip_aux and "auxiliary" in k))


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# -- genotype strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel,col", [("swap-darts/darts_cifar10.csv", "genotype"), ("naslib-zc/nb301_cifar10.csv", "arch")]
)
def test_round_trip_on_real_files(space, shared_data, rel, col):
    rows = _rows(shared_data / rel)
    assert len(rows) > 200
    for row in rows:
        text = row[col]
        assert space.parse(text) == text
        assert space.parse(space.parse(text)) == text


def test_forms_and_canonical(space):
    g = parse_genotype(DARTS_V2)
    assert space.parse("  " + DARTS_V2.replace(", ", ",") + "\n") == DARTS_V2
    positional = f"Genotype({g.normal!r}, range(2, 6), {g.reduce!r}, [2, 3, 4, 5])"
    assert space.parse(positional) == DARTS_V2
    as_lists = DARTS_V2.replace("('", "['").replace(")", "]").replace("Genotype[", "Genotype(")
    assert space.parse(as_lists[:-1] + ")") == DARTS_V2
    # NASLib compact tuple is accepted and converted with NASLib's op order
    assert space.parse(str(genotype_to_compact(g))) == DARTS_V2


@pytest.mark.parametrize(
    "text,why",
    [
        ("", "empty"),
        ("Genotype(normal=[", "syntax"),
        ("__import__('os').system('true')", "expected Genotype"),
        (DARTS_V2.replace("'sep_conv_3x3', 0", "'conv_7x7', 0", 1), "unknown op"),
        (
            DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"),
            "normal[7] feeds node 5, so its input must be in 0..4, got 5",
        ),
        (
            DARTS_V2.replace("('skip_connect', 2), ('max_pool_3x3', 1)]", "('skip_connect', 2), ('max_pool_3x3', -1)]"),
            "reduce[7] feeds node 5",
        ),
        (
            DARTS_V2.replace("('sep_conv_3x3', 1), ('skip_connect', 0)", "('sep_conv_3x3', 4), ('skip_connect', 0)"),
            "normal[4] feeds node 4, so its input must be in 0..3, got 4",
        ),
        (DARTS_V2.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ", "", 1), "8 (op, input) pairs"),
        (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]"), "[2, 3, 4, 5]"),
        (DARTS_V2.replace(", reduce_concat=[2, 3, 4, 5]", ""), "missing reduce_concat"),
        (DARTS_V2.replace("reduce_concat=", "foo="), "unknown field"),
        (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', x)", 1), "not a literal"),
        (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', 0.0)", 1), "not an integer"),
        (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', True)", 1), "not an integer"),
        ("(((0, 9),) * 8, ())", "not a literal"),
        (str(((tuple((0, 9) for _ in range(8))), tuple((0, 1) for _ in range(8)))), "op index 9"),
    ],
)
def test_bad_strings(space, text, why):
    with pytest.raises(ArchError) as err:
        space.parse(text)
    msg = str(err.value)
    assert why in msg and "\n" not in msg


def test_none_is_accepted_but_outside_nb301(space, shared_data):
    first = _rows(shared_data / "swap-darts/darts_cifar10.csv")[0]["genotype"]
    assert "'none'" in first and space.parse(first) == first
    assert not in_nb301_space(first)
    assert in_nb301_space(DARTS_V2)
    assert not in_nb301_space(
        DARTS_V2.replace(
            "('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)",
            "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1)",
            1,
        )
    )


def test_compact_uses_naslib_op_order():
    compact = (tuple((i % 2, i % 7) for i in range(8)), tuple((1 - i % 2, 6 - i % 7) for i in range(8)))
    g = compact_to_genotype(compact)
    assert g.normal[0] == ("max_pool_3x3", 0) and g.normal[6] == ("dil_conv_5x5", 0)
    assert g.normal[3] == ("sep_conv_3x3", 1) and g.reduce[0] == ("dil_conv_5x5", 1)
    assert genotype_to_compact(g) == compact
    assert COMPACT_OPS == (
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    )


def test_config_mapping(space):
    g = config_to_genotype(NB301_SAMPLE_CONFIG)
    assert g.normal == [
        ("skip_connect", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("skip_connect", 1),
        ("dil_conv_3x3", 0),
        ("dil_conv_5x5", 2),
        ("sep_conv_3x3", 1),
        ("skip_connect", 2),
    ]
    assert g.reduce[-2:] == [("sep_conv_3x3", 2), ("dil_conv_3x3", 3)]
    cfg = genotype_to_config(g)
    assert cfg == {k: v for k, v in NB301_SAMPLE_CONFIG.items() if k.startswith(P)}
    for arch in space.sample(20, seed=3):
        assert format_genotype(config_to_genotype(genotype_to_config(parse_genotype(arch)))) == arch
    bad = dict(NB301_SAMPLE_CONFIG)
    bad[P + "inputs_node_normal_4"] = "1_2"
    with pytest.raises(ArchError, match="inputs_node_normal_4"):
        config_to_genotype(bad)


def test_sample_and_enumerate(space):
    a = space.sample(50, seed=7)
    assert a == space.sample(50, seed=7) and a != space.sample(50, seed=8)
    assert len(set(a)) == 50
    ops_seen = set()
    for arch in a:
        g = parse_genotype(arch)
        assert in_nb301_space(arch)
        for cell in (g.normal, g.reduce):
            for k in range(4):
                (op1, i1), (op2, i2) = cell[2 * k], cell[2 * k + 1]
                assert i1 < i2 < k + 2
                ops_seen |= {op1, op2}
    assert ops_seen == set(NB301_OPS)
    with pytest.raises(UsageError, match="too large"):
        space.enumerate()


# -- networks -----------------------------------------------------------------------------------


def test_darts_v2_param_count():
    net = NetworkCIFAR(36, 10, 20, parse_genotype(DARTS_V2), auxiliary=True)
    # DARTS' count_parameters_in_MB skips the auxiliary head: 3.349342M, the paper's "3.3M"
    assert n_params(net, skip_aux=True) == 3_349_342
    assert n_params(net) == 3_825_768


def test_nb301_training_sample_param_count():
    # builder + config mapping reproduce NB301's recorded model_parameters (aux head included)
    net = NetworkCIFAR(50, 10, 20, config_to_genotype(NB301_SAMPLE_CONFIG), auxiliary=True)
    assert n_params(net) == 6_369_358


def test_naslib_variant_matches_naslib_params(space, shared_data):
    rows = _rows(shared_data / "naslib-zc/nb301_cifar10.csv")[::8]
    for row in rows:
        net = space.build(row["arch"], "cifar10", variant="naslib")
        assert round(n_params(net) / 1e6, 6) == round(float(row["params"]), 6)
    # the NB301 net of the same genotype is a different (affine) network
    assert n_params(space.build(rows[0]["arch"], "cifar10")) != round(float(rows[0]["params"]) * 1e6)


def _torchstat_flops(net: torch.nn.Module) -> int:
    """FLOPs as torchstat-style counters see them: conv MACs, Linear in*out, BN 1x (2x if affine),
    ReLU per input element, pooling k*k per output element."""
    total = [0]

    def hook(m, inp, out):
        x = inp[0]
        if isinstance(m, torch.nn.Conv2d):
            total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, torch.nn.Linear):
            total[0] += m.in_features * m.out_features
        elif isinstance(m, torch.nn.BatchNorm2d):
            total[0] += x.numel() * (2 if m.affine else 1)
        elif isinstance(m, torch.nn.ReLU):
            total[0] += x.numel()
        elif isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            total[0] += out.numel() * 9

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 3, 32, 32))
    for h in handles:
        h.remove()
    return total[0]


def test_naslib_variant_flops_differ_by_a_constant(space, shared_data):
    # every op's stride and resolution is right iff NASLib's flops minus ours is one constant
    rows = _rows(shared_data / "naslib-zc/nb301_cifar10.csv")[::16]
    offsets = {
        round(float(r["flops"]) * 1e6) - _torchstat_flops(space.build(r["arch"], "cifar10", variant="naslib"))
        for r in rows
    }
    assert len(offsets) == 1


@pytest.mark.parametrize(
    "variant,feat", [("nb301", (2, 512, 8, 8)), ("naslib", (2, 512, 8, 8)), ("swap", (2, 24, 16, 16))]
)
def test_forward_shapes(space, variant, feat):
    torch.manual_seed(0)
    arch = space.sample(1, seed=1)[0]
    net = space.build(arch, "cifar10", variant=variant)
    x = torch.randn(2, 3, 32, 32)
    net.train()
    out = net(x)
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert net.forward_features(x).shape == feat
    assert not hasattr(net, "auxiliary_head")


def test_swap_variant_structure(space, shared_data):
    arch = _rows(shared_data / "swap-darts/darts_cifar10.csv")[0]["genotype"]
    net = space.build(arch, "cifar10", variant="swap")
    assert len(net.cells) == 1 and net.cells[0].reduction
    assert net.classifier.in_features == 24
    assert isinstance(net.stem, torch.nn.Identity)
    relus = [m for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    assert relus  # SWAP's metric hooks nn.ReLU modules


def test_build_options_and_spec(space):
    with pytest.raises(UsageError, match="variant"):
        space.build(DARTS_V2, "cifar10", variant="nope")
    with pytest.raises(UsageError, match="option"):
        space.build(DARTS_V2, "cifar10", width=3)
    with pytest.raises(UsageError):
        space.build(DARTS_V2, "cifar100")
    spec = space.input_spec("cifar10")
    assert spec.shape == (3, 32, 32) and spec.num_classes == 10
    assert spec.mean == (0.49139968, 0.48215827, 0.44653124)
    assert spec.std == (0.24703233, 0.24348505, 0.26158768)


# -- ground truth readers -----------------------------------------------------------------------


def test_shared_swap_csv(space, shared_data):
    path = shared_data / "swap-darts/darts_cifar10.csv"
    rows = _rows(path)
    bench = space.load_dump(path, "cifar10")
    assert len(bench.records) == len(rows)
    for rec, row in zip(bench.records, rows):
        assert rec.arch == row["genotype"] and rec.val_accuracy == float(row["val_accuracy"])
        assert math.isnan(rec.test_accuracy)
    assert [r.index for r in bench.records] == list(range(len(rows)))


def test_headerless_swap_layout(space, tmp_path):
    archs = space.sample(3, seed=0)
    f = tmp_path / "DARTS_archs_CIFAR10.csv"
    with open(f, "w", newline="") as fh:
        w = csv.writer(fh)
        for i, a in enumerate(archs):
            w.writerow([a, 80.5 + i])
    recs = space.load_dump(f, "cifar10").records
    assert [r.arch for r in recs] == archs and [r.val_accuracy for r in recs] == [80.5, 81.5, 82.5]


def test_csv_with_test_column(space, tmp_path):
    a = space.sample(2, seed=1)
    f = tmp_path / "g.csv"
    with open(f, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Arch", "valid_acc", "test_acc"])
        w.writerow([a[0], "91.0", "90.5"])
        w.writerow([a[1], "92", ""])
    recs = space.load_dump(f, "cifar10").records
    assert recs[0].test_accuracy == 90.5 and math.isnan(recs[1].test_accuracy) and recs[1].val_accuracy == 92.0


def test_naslib_zc_json(space, tmp_path):
    archs = space.sample(3, seed=2)
    data = {"cifar10": {}, "cifar100": {}}
    for i, a in enumerate(archs):
        key = str(genotype_to_compact(parse_genotype(a)))
        data["cifar10"][key] = {
            "val_accuracy": 93.0 + i,
            "synflow": {"score": 10.0 * i, "time": 0.1},
            "params": {"score": 1.2, "time": 0.0},
        }
    f = tmp_path / "zc_nasbench301.json"
    f.write_text(json.dumps(data))
    recs = space.load_dump(f, "cifar10").records
    assert [r.arch for r in recs] == archs
    assert [r.val_accuracy for r in recs] == [93.0, 94.0, 95.0]
    assert recs[2].extra == {"naslib_synflow": 20.0, "naslib_params": 1.2}


def _result_json(arch: str, val: float, test: float | None) -> dict:
    obj = {
        "optimized_hyperparamater_config": {
            **genotype_to_config(parse_genotype(arch)),
            "NetworkSelectorDatasetInfo:network": "darts",
        },
        "budget": 100,
        "info": [{"val_accuracy": val, "model_parameters": 1234}],
        "runtime": 7.0,
    }
    if test is not None:
        obj["test_accuracy"] = test
    return obj


def test_nb301_training_dir(space, tmp_path):
    archs = space.sample(3, seed=4)
    (tmp_path / "rs").mkdir()
    (tmp_path / "de").mkdir()
    files = [
        tmp_path / "de" / "results_1.json",
        tmp_path / "rs" / "results_0.json",
        tmp_path / "rs" / "results_2_ti.json",
    ]
    for i, (f, a) in enumerate(zip(files, archs)):
        f.write_text(json.dumps(_result_json(a, 90.0 + i, 89.0 + i if i != 1 else None)))
    (tmp_path / "rs" / "notes.json").write_text("ignored")
    recs = space.load_dump(tmp_path, "cifar10").records
    assert [r.arch for r in recs] == archs  # sorted relative paths: de/1, rs/0, rs/2_ti
    assert recs[0].test_accuracy == 89.0 and math.isnan(recs[1].test_accuracy)
    assert recs[2].extra == {"nb301_model_parameters": 1234.0, "runtime": 7.0, "budget": 100.0}
    single = space.load_dump(files[0], "cifar10").records
    assert len(single) == 1 and single[0].arch == archs[0]


def test_plain_json_map(space, tmp_path):
    f = tmp_path / "g.json"
    f.write_text(json.dumps({DARTS_V2: 97.0}))
    assert space.load_dump(f, "cifar10").records[0].arch == DARTS_V2


def _bad(tmp_path: Path, name: str, content: str) -> Path:
    f = tmp_path / name
    f.write_text(content)
    return f


@pytest.mark.parametrize(
    "name,content,why",
    [
        ("a.csv", "", "empty"),
        ("a.csv", "genotype,val_accuracy\n", "no rows"),
        ("a.csv", "name,score\nx,1\n", "need a genotype column"),
        ("a.csv", f'genotype,val_accuracy\n"{DARTS_V2}",high\n', "line 2: accuracy 'high'"),
        ("a.csv", 'genotype,val_accuracy\n"Genotype(normal=[])",90\n', "line 2: invalid DARTS genotype"),
        ("a.csv", f'"{DARTS_V2}"\n', "at least 2 columns"),
        ("z.json", '{"cifar10": {"((0, 1),', "truncated or invalid JSON"),
        ("z.json", "[1, 2]", "top level is list"),
        ("z.json", '{"cifar100": {}}', "no 'cifar10' section"),
        ("z.json", '{"cifar10": {"not a tuple": {"val_accuracy": 90}}}', "not a NASLib compact tuple"),
        ("z.json", '{"cifar10": {"((0, 1), (1, 2))": {"val_accuracy": 90}}}', "each cell needs 8"),
        ("r.json", '{"optimized_hyperparamater_config": {}, "info": []}', "node 2 of the normal cell has 0"),
    ],
)
def test_malformed_files(space, tmp_path, name, content, why):
    f = _bad(tmp_path, name, content)
    with pytest.raises(DumpError) as err:
        space.load_dump(f, "cifar10")
    assert why in str(err.value) and "\n" not in str(err.value)


def test_malformed_training_results(space, tmp_path):
    arch = space.sample(1, seed=5)[0]
    obj = _result_json(arch, 90.0, 89.0)
    del obj["info"]
    f = _bad(tmp_path, "results_0.json", json.dumps(obj))
    with pytest.raises(DumpError, match=r"info\[0\]"):
        space.load_dump(f, "cifar10")
    obj = _result_json(arch, 90.0, 89.0)
    obj["optimized_hyperparamater_config"]["NetworkSelectorDatasetInfo:network"] = "resnet"
    f.write_text(json.dumps(obj))
    with pytest.raises(DumpError, match="not a DARTS cell"):
        space.load_dump(f, "cifar10")
    obj = _result_json(arch, 90.0, 89.0)
    obj["optimized_hyperparamater_config"][P + "edge_normal_4"] = "skip_connect"  # 3 inputs into node 3
    obj["optimized_hyperparamater_config"][P + "edge_normal_2"] = "skip_connect"
    obj["optimized_hyperparamater_config"][P + "edge_normal_3"] = "skip_connect"
    f.write_text(json.dumps(obj))
    with pytest.raises(DumpError, match="node 3 of the normal cell has 3"):
        space.load_dump(f, "cifar10")


def test_missing_and_special_paths(space, tmp_path):
    with pytest.raises(DumpError, match="no such file"):
        space.load_dump(tmp_path / "nope.csv", "cifar10")
    with pytest.raises(DumpError, match="no NB301 results"):
        space.load_dump(tmp_path, "cifar10")
    (tmp_path / "m0").mkdir()
    (tmp_path / "m0" / "surrogate_model.model").write_bytes(b"\x80\x04")
    with pytest.raises(UsageError, match="surrogate"):
        space.load_dump(tmp_path, "cifar10")
    with pytest.raises(UsageError, match="epochs"):
        space.load_dump(tmp_path, "cifar10", epochs=12)
    with pytest.raises(UsageError):
        space.load_dump(tmp_path, "cifar100")
    bin_file = tmp_path / "x.csv"
    bin_file.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DumpError, match="not a text file"):
        space.load_dump(bin_file, "cifar10")


@pytest.mark.slow
def test_naslib_variant_reproduces_naslib_data_free_scores(shared_data):
    """NASLib's NB301 zero-cost scores were computed on its own DARTS net: with ``variant='naslib'`` our
    l2_norm and synflow (NASLib logs it) agree with the published values (Spearman ≥ 0.99)."""
    import numpy as np
    import pandas as pd
    import torch
    from scipy import stats

    from zcbench.proxies import ProxyContext, get_proxy

    sp = get_space("nb301")
    df = pd.read_csv(shared_data / "naslib-zc" / "nb301_cifar10.csv").head(40)
    ctx = ProxyContext(None, None, (3, 32, 32), 10)
    l2, syn = [], []
    for i, a in enumerate(df["arch"]):
        arch = sp.parse(a)
        torch.manual_seed(i)
        l2.append(get_proxy("l2_norm").fn(sp.build(arch, "cifar10", variant="naslib"), ctx))
        torch.manual_seed(i)
        syn.append(np.log(get_proxy("synflow").fn(sp.build(arch, "cifar10", variant="naslib"), ctx)))
    assert stats.spearmanr(l2, df["l2_norm"]).statistic >= 0.99
    assert np.median(np.array(l2) / df["l2_norm"]) == pytest.approx(1.0, abs=0.01)
    assert stats.spearmanr(syn, df["synflow"]).statistic >= 0.99
