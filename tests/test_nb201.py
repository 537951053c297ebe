"""NAS-Bench-201: arch strings, the dump readers on miniature official-format files, the exact network."""

from __future__ import annotations

import bz2
import os
import pickle

import nb201_fixtures as F
import pandas as pd
import pytest
import torch

from zcbench.errors import ArchError, DumpError
from zcbench.proxies import ProxyContext, get_proxy
from zcbench.spaces import get_space
from zcbench.spaces.nb201 import all_arch_strings, parse_arch_string

ARCH0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
IDX = [0, 5, 100, 15624]


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    d = tmp_path_factory.mktemp("nb201")
    F.write_nb201_pth(d / "NAS-Bench-201-v1_1-096897.pth", IDX)
    F.write_nb201_pth(d / "NAS-Bench-201-v1_0-e61699.pth", IDX, v1_0=True)
    F.write_nats_single(d / "NATS-tss-v1_0-3ffb9.pickle.pbz2", IDX)
    F.write_nats_simple(d / "NATS-tss-v1_0-3ffb9-simple", IDX)
    return d


def test_parse_and_canonical():
    sp = get_space("nb201")
    assert sp.parse("  " + ARCH0 + "\n") == ARCH0
    g = parse_arch_string(ARCH0)
    assert g[2] == [("nor_conv_1x1", 0), ("skip_connect", 1), ("skip_connect", 2)]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "|nor_conv_3x3~0|",
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~0|+|none~0|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
        "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~x|",
    ],
)
def test_bad_strings_are_one_line_errors(bad):
    with pytest.raises(ArchError) as err:
        get_space("nb201").parse(bad)
    assert "\n" not in str(err.value) and str(err.value)


def test_enumerate_all_15625_unique_and_valid():
    archs = all_arch_strings()
    assert len(archs) == len(set(archs)) == 15625
    sp = get_space("nb201")
    assert all(sp.parse(a) == a for a in archs[::997])


def test_index_needs_dump(dumps):
    sp = get_space("nb201")
    with pytest.raises(ArchError, match="--dump"):
        sp.parse("5")
    sp.load_dump(dumps / "NAS-Bench-201-v1_1-096897.pth", "cifar10")
    meta = F.official_order()
    assert sp.parse("5") == meta[5] and sp.index_of(meta[5]) == 5
    with pytest.raises(ArchError, match="out of range"):
        sp.parse("15625")


@pytest.mark.parametrize(
    "name", ["NAS-Bench-201-v1_1-096897.pth", "NATS-tss-v1_0-3ffb9.pickle.pbz2", "NATS-tss-v1_0-3ffb9-simple"]
)
@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "ImageNet16-120"])
@pytest.mark.parametrize("hp", [200, 12])
def test_dump_accuracies_are_seed_means_of_the_official_sets(dumps, name, dataset, hp):
    b = get_space("nb201").load_dump(dumps / name, dataset, hp)
    meta = F.official_order()
    assert [r.index for r in b.records] == IDX
    assert [r.arch for r in b.records] == [meta[i] for i in IDX]
    for r in b.records:
        assert (r.val_accuracy, r.test_accuracy) == pytest.approx(F.expected(r.index, dataset, hp))


def test_second_load_comes_from_the_cache(dumps, monkeypatch):
    """The compact cache in the cache folder serves later loads without unpickling the dump again."""
    import zcbench.spaces.nb201 as nb201
    from zcbench.spaces.dumpcache import cache_path

    path = dumps / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    first = get_space("nb201").load_dump(path, "cifar100", 12).records
    assert cache_path(path).is_file() and not path.with_name(path.name + ".zcbench-cache.h5").exists()
    monkeypatch.setattr(nb201, "NB201Dump", None)  # any attempt to read the dump itself would fail
    again = get_space("nb201").load_dump(path, "cifar100", 12).records
    assert [(r.index, r.arch, r.val_accuracy, r.test_accuracy, r.extra) for r in again] == [
        (r.index, r.arch, r.val_accuracy, r.test_accuracy, r.extra) for r in first
    ]
    monkeypatch.undo()
    fresh = get_space("nb201").load_dump(path, "cifar100", 12, use_cache=False).records
    assert [(r.val_accuracy, r.extra) for r in fresh] == [(r.val_accuracy, r.extra) for r in first]


def test_v1_0_has_no_12_epoch_cifar100(dumps):
    sp = get_space("nb201")
    with pytest.raises(DumpError, match="no 12-epoch results for cifar100"):
        sp.load_dump(dumps / "NAS-Bench-201-v1_0-e61699.pth", "cifar100", 12)
    assert len(sp.load_dump(dumps / "NAS-Bench-201-v1_0-e61699.pth", "cifar10", 12).records) == len(IDX)


def test_dump_params_and_flops_equal_our_network(dumps):
    sp = get_space("nb201")
    for ds in ("cifar10", "ImageNet16-120"):
        spec = sp.input_spec(ds)
        ctx = ProxyContext(None, None, spec.shape, spec.num_classes)
        for r in sp.load_dump(dumps / "NATS-tss-v1_0-3ffb9.pickle.pbz2", ds).records:
            net = sp.build(r.arch, ds)
            assert get_proxy("params").fn(net, ctx) == pytest.approx(r.extra["params"], abs=1e-12)


def test_real_nats_sample_files(shared_data):
    """The official NATS simple-format fixtures: params/flops of arch 0, 11, 284 on every dataset."""
    sp = get_space("nb201")
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        spec = sp.input_spec(ds)
        ctx = ProxyContext(None, None, spec.shape, spec.num_classes)
        b = sp.load_dump(shared_data / "nats-tss-sample", ds)
        assert [r.index for r in b.records] == [0, 11, 284]
        for r in b.records:
            net = sp.build(r.arch, ds)
            assert get_proxy("params").fn(net, ctx) == pytest.approx(r.extra["params"], abs=1e-12)
            assert get_proxy("flops").fn(net, ctx) == pytest.approx(r.extra["flops"], rel=1e-9)
            assert 0 < r.val_accuracy < 100 and 0 < r.test_accuracy < 100
    assert b.records[0].arch == ARCH0


def test_repacked_real_sample_as_pth_matches_simple_dir(shared_data, tmp_path):
    """FORMATS §1.4's recipe: the real records re-packed into the NB201 .pth layout read the same."""
    from zcbench.safe_pickle import safe_loads

    src = shared_data / "nats-tss-sample"
    meta = safe_loads(bz2.decompress((src / "meta.pickle.pbz2").read_bytes()))
    infos = {}
    for i in (0, 11, 284):
        d = safe_loads(bz2.decompress((src / f"{i:06d}.pickle.pbz2").read_bytes()))
        infos[i] = {"less": d["12"], "full": d["200"]}
    torch.save(
        {
            "meta_archs": meta["meta_archs"],
            "total_archs": 15625,
            "arch2infos": infos,
            "evaluated_indexes": [0, 11, 284],
        },
        tmp_path / "NAS-Bench-201-v1_1-096897.pth",
    )
    sp = get_space("nb201")
    for ds in ("cifar10", "cifar100"):
        a = sp.load_dump(src, ds).records
        b = sp.load_dump(tmp_path / "NAS-Bench-201-v1_1-096897.pth", ds).records
        assert [(r.arch, r.val_accuracy, r.test_accuracy) for r in a] == [
            (r.arch, r.val_accuracy, r.test_accuracy) for r in b
        ]


@pytest.mark.slow
def test_params_exact_on_every_dev_architecture(shared_data):
    sp = get_space("nb201")
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        df = pd.read_csv(shared_data / "naslib-zc" / f"nb201_{ds}.csv")
        ours = [sum(p.numel() for p in sp.build(sp.parse(a), ds).parameters()) / 1e6 for a in df["arch"]]
        assert ours == pytest.approx(df["params"].tolist(), abs=1e-12)


def test_issue_example_params():
    a = "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    sp = get_space("nb201")
    got = [sum(p.numel() for p in sp.build(a, ds).parameters()) for ds in ("cifar10", "cifar100", "ImageNet16-120")]
    assert got == [428346, 434196, 435496]


def test_network_forward_shapes():
    sp = get_space("nb201")
    net = sp.build(ARCH0, "ImageNet16-120")
    x = torch.randn(2, 3, 16, 16)
    assert net(x).shape == (2, 120)
    assert net.forward_features(x).shape == (2, 64, 4, 4)


# -- bad dumps ---------------------------------------------------------------------------------


def test_missing_dump(tmp_path):
    with pytest.raises(DumpError, match="no such file"):
        get_space("nb201").load_dump(tmp_path / "nope.pth", "cifar10")


def test_truncated_pth(dumps, tmp_path):
    data = (dumps / "NAS-Bench-201-v1_1-096897.pth").read_bytes()
    (tmp_path / "t.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(DumpError):
        get_space("nb201").load_dump(tmp_path / "t.pth", "cifar10")


def test_truncated_bz2(dumps, tmp_path):
    data = (dumps / "NATS-tss-v1_0-3ffb9.pickle.pbz2").read_bytes()
    (tmp_path / "t.pickle.pbz2").write_bytes(data[: len(data) // 2])
    with pytest.raises(DumpError, match="truncated or corrupt"):
        get_space("nb201").load_dump(tmp_path / "t.pickle.pbz2", "cifar10")


def test_foreign_benchmark_files(tmp_path):
    torch.save({"metrics_dict": {}, "info_names": [], "task_list": [], "data": {}}, tmp_path / "tnb.pth")
    with pytest.raises(DumpError, match="TransNAS"):
        get_space("nb201").load_dump(tmp_path / "tnb.pth", "cifar10")
    torch.save({"something": 1}, tmp_path / "other.pth")
    with pytest.raises(DumpError, match="meta_archs"):
        get_space("nb201").load_dump(tmp_path / "other.pth", "cifar10")
    sss = {"meta_archs": ["64:64:64:64:64"] * 32768, "arch2infos": {}, "evaluated_indexes": []}
    (tmp_path / "sss.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(sss, protocol=4)))
    with pytest.raises(DumpError, match="SSS"):
        get_space("nb201").load_dump(tmp_path / "sss.pickle.pbz2", "cifar10")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo SHOULD-NOT-RUN",))


def test_pickle_with_disallowed_global_is_refused(tmp_path, capfd):
    torch.save({"meta_archs": _Evil()}, tmp_path / "evil.pth")
    (tmp_path / "evil.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"meta_archs": _Evil()})))
    for name in ("evil.pth", "evil.pickle.pbz2"):
        with pytest.raises(DumpError, match="disallowed global"):
            get_space("nb201").load_dump(tmp_path / name, "cifar10")
    assert "SHOULD-NOT-RUN" not in capfd.readouterr().out


@pytest.mark.parametrize("stride", [1, 2])
def test_cpu_avgpool_layout_is_bit_identical(stride):
    """fastops.AvgPool2d (channels-last on the CPU) gives exactly nn.AvgPool2d's values, gradients and
    double gradients (grasp takes them), in float32 and float64, for NB201's and DARTS's strides."""
    from zcbench.spaces.fastops import AvgPool2d

    ref = torch.nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    fast = AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(8, 16, 32, 32, dtype=dtype, requires_grad=True)
        g = torch.randn(8, 16, 32 // stride, 32 // stride, dtype=dtype)
        outs = []
        for op in (ref, fast):
            y = op(x)
            (gx,) = torch.autograd.grad((y * g).sum(), x, create_graph=True)
            (ggx,) = torch.autograd.grad((gx**2).sum(), x)
            outs.append((y.detach(), gx.detach(), ggx))
        for a, b in zip(*outs):
            assert torch.equal(a, b)


def test_samsung_variant_counts_every_candidate_and_equals_official_in_train_mode():
    """Samsung's NAS201Model instantiates all 5 ops on each of the 6 edges (cell convs with bias, BN
    without affine): by hand, params = stem 464 + cells 5·6·Σ_C(9C²+C + C²+C) + reductions 14464 + 57600
    + lastact 128 + fc 650 = 1,692,826 for 10 classes, whatever the architecture. With the official
    net's weights copied into the ops the architecture uses (and random conv biases), train-mode
    outputs agree: BN's batch mean removes the bias and affine-free BN is BN at (1, 0)."""
    from zcbench.spaces.nb201_model import SAMSUNG_OPS

    sp = get_space("nb201")
    a = "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|skip_connect~1|nor_conv_3x3~2|"
    torch.manual_seed(0)
    off = sp.build(a, "cifar10")
    sam = sp.build(a, "cifar10", variant="samsung")
    assert sum(p.numel() for p in sam.parameters()) == 1692826
    assert sum(p.numel() for p in sp.build(ARCH0, "cifar10", variant="samsung").parameters()) == 1692826
    geno = parse_arch_string(a)
    with torch.no_grad():
        sam.stem.load_state_dict(off.stem.state_dict())
        sam.reduction1.load_state_dict(off.cells[5].state_dict())
        sam.reduction2.load_state_dict(off.cells[11].state_dict())
        sam.lastact.load_state_dict(off.lastact.state_dict())
        sam.classifier.load_state_dict(off.classifier.state_dict())
        stacks = [sam.stack_cell1, sam.stack_cell2, sam.stack_cell3]
        for s, stack in enumerate(stacks):
            for k, cell in enumerate(stack):
                ocell = off.cells[s * 6 + k]
                layer = 0
                for node, edges in enumerate(geno):
                    for op, j in edges:
                        idx = (node * (node + 1) // 2 + j) * len(SAMSUNG_OPS) + SAMSUNG_OPS.index(op)
                        assert cell.keep[idx]
                        if op.startswith("nor_conv"):
                            cell.options[idx].op[1].weight.copy_(ocell.layers[layer].op[1].weight)
                            cell.options[idx].op[1].bias.uniform_(-1, 1)
                        layer += 1
    off.train()
    sam.train()
    x = torch.randn(8, 3, 32, 32)
    assert torch.allclose(off(x), sam(x), atol=1e-4)
