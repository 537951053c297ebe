"""TransNAS-Bench-101: dump reading, arch grammar, exact networks, losses and Taskonomy batches."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tnb101_fixtures import (
    HAND_ZERO_CELL,
    MACRO,
    MICRO,
    PUBLISHED_63,
    expected_params,
    make_tnb101_dump,
)
from zcbench.data.taskonomy import load_taskonomy_batch, synthetic_taskonomy_batch
from zcbench.errors import ArchError, DataError, DumpError
from zcbench.spaces import get_space
from zcbench.spaces.tnb101 import HEADLINE, soft_cross_entropy
from zcbench.spaces.tnb101_model import MacroNet

TASKS = ["class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic", "normal", "autoencoder"]


def nparams(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> Path:
    return make_tnb101_dump(tmp_path_factory.mktemp("tnb") / "transnas-bench_v10141024.pth")


@pytest.fixture(scope="module")
def raw(dump) -> dict:
    return torch.load(dump, weights_only=False)


# -- dump ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("space,half,archs", [("tnb101_micro", "micro", MICRO), ("tnb101_macro", "macro", MACRO)])
@pytest.mark.parametrize("task", TASKS)
def test_headline_is_best_over_epochs(dump, raw, space, half, archs, task):
    bench = get_space(space).load_dump(dump, task)
    assert [r.arch for r in bench.records] == archs  # insertion order of this half
    assert [r.index for r in bench.records] == list(range(len(archs)))
    val_name, test_name = HEADLINE[task]
    best_differs_from_final = False
    for r in bench.records:
        metrics = raw["data"][half][r.arch][task]["metrics"]
        assert r.val_accuracy == max(metrics[val_name])
        assert r.test_accuracy == max(metrics[test_name])
        best_differs_from_final |= r.val_accuracy != metrics[val_name][-1]
    assert best_differs_from_final  # the fixture can tell 'best' from 'final'


def test_epochs_truncates_and_params_in_millions(dump, raw):
    space = get_space("tnb101_micro")
    bench = space.load_dump(dump, "jigsaw", epochs=3)
    lst = raw["data"]["micro"][MICRO[0]]["jigsaw"]["metrics"]["valid_top1"]
    assert bench.records[0].val_accuracy == max(lst[:3])
    scene = space.load_dump(dump, "class_scene").by_arch()
    for arch in MICRO:
        count = raw["data"]["micro"][arch]["class_scene"]["model_info"]["model_params"]
        assert scene[arch].extra["params"] == pytest.approx(count / 1e6)
        assert scene[arch].extra["flops"] < 1e4  # MFLOPs, converted from a count
    seg = space.load_dump(dump, "segmentsemantic").by_arch()
    assert math.isnan(seg[MICRO[0]].extra["params"])  # '' in model_info -> NaN, not a crash


def test_index_follows_dump_order(dump):
    space = get_space("tnb101_macro")
    assert space.index_of(MACRO[1]) is None
    with pytest.raises(ArchError, match="--dump"):
        space.parse("1")
    space.load_dump(dump, "class_object")
    assert space.index_of(MACRO[1]) == 1
    assert space.parse("1") == MACRO[1]
    assert space.enumerate() == MACRO


def test_foreign_dump_is_refused(tmp_path):
    p = tmp_path / "other.pth"
    torch.save({"meta_archs": [], "arch2infos": {}}, p)
    with pytest.raises(DumpError, match="not a TransNAS-Bench-101 dump"):
        get_space("tnb101_micro").load_dump(p, "class_scene")
    torch.save({"metrics_dict": {}, "info_names": [], "task_list": [], "data": {"macro": {}}}, p)
    with pytest.raises(DumpError, match="not a TransNAS-Bench-101 dump"):
        get_space("tnb101_micro").load_dump(p, "class_scene")
    p.write_bytes(b"garbage")
    with pytest.raises(DumpError):
        get_space("tnb101_micro").load_dump(p, "class_scene")


class Evil:
    """Any class outside the allow-list: its global must never be resolved."""

    def __reduce__(self):
        return (print, ("pwned",))


def test_disallowed_global_is_refused(tmp_path, capsys):
    p = tmp_path / "evil.pth"
    torch.save({"metrics_dict": {}, "info_names": [], "task_list": [], "data": Evil()}, p)
    with pytest.raises(DumpError, match="disallowed global"):
        get_space("tnb101_macro").load_dump(p, "class_scene")
    assert "pwned" not in capsys.readouterr().out


def test_missing_task_in_dump(dump):
    with pytest.raises(Exception, match="no dataset|task"):
        get_space("tnb101_micro").load_dump(dump, "cifar10")


# -- architectures ---------------------------------------------------------------------------------


def test_counts_and_grammar():
    micro, macro = get_space("tnb101_micro"), get_space("tnb101_macro")
    archs_micro, archs_macro = micro.enumerate(), macro.enumerate()
    assert len(archs_micro) == len(set(archs_micro)) == 4096
    assert len(archs_macro) == len(set(archs_macro)) == 3256
    assert all(micro.parse(a) == a for a in archs_micro[:50])
    assert "64-1234-basic" in archs_macro and "64-2311-basic" in archs_macro
    assert micro.parse(" 64-41414-1_02_333 ") == "64-41414-1_02_333"
    assert micro.parse("(1, 0, 2, 3, 3, 3)") == "64-41414-1_02_333"
    assert macro.parse("(1, 2, 4, 2, 0, 0)") == "64-1242-basic"
    for bad in ["64-41414-4_02_333", "64-41414-1_02_33", "32-41414-1_02_333", "64-41414-basic", "(1, 2, 3)"]:
        with pytest.raises(ArchError):
            micro.parse(bad)
    for bad in ["64-1111-basic", "64-3333333-basic", "64-123-basic", "64-4444-basic", "64-2222-basic", "64-1234-cell"]:
        with pytest.raises(ArchError):
            macro.parse(bad)


# -- networks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", list(PUBLISHED_63))
def test_encoder_matches_published_naslib_params(arch):
    """NASLib's published class_scene params = official encoder + Linear(C, 63)."""
    published, c = PUBLISHED_63[arch]
    enc = MacroNet(arch)
    assert enc.output_dim[0] == c
    assert nparams(enc) + 63 * c + 63 == round(published * 1e6)


@pytest.mark.parametrize("space,archs", [("tnb101_micro", MICRO), ("tnb101_macro", MACRO)])
def test_builder_params_equal_dump(dump, space, archs):
    s = get_space(space)
    for task in ("class_scene", "class_object", "room_layout"):
        recs = s.load_dump(dump, task).by_arch()
        for arch in archs:
            n = nparams(s.build(arch, task))
            assert n == expected_params(arch, task)
            assert n == round(recs[arch].extra["params"] * 1e6)


def test_hand_derived_zero_cell():
    net = get_space("tnb101_micro").build(HAND_ZERO_CELL, "class_scene")
    assert nparams(net) == 3 * 32 * 9 + 2 * 32 + 32 * 64 * 9 + 2 * 64 + 512 * 47 + 47
    out = net(torch.randn(2, 3, 64, 64))
    assert torch.allclose(out, net.decoder.fc.bias.expand(2, 47))  # all-zero cells: head sees zeros


def test_batchnorm_positional_quirk_and_init():
    s = get_space("tnb101_macro")
    net = s.build("64-1242-basic", "class_object")
    down = net.encoder.layer1[0].downsample[1]
    assert down.eps == 1.0 and down.momentum == 1.0
    assert net.encoder.layer1[0].conv_a.ops[2].eps == 1e-5  # ordinary ReLUConvBN BNs keep defaults
    torch.manual_seed(0)
    a = s.build("64-1242-basic", "class_object", init="default")
    torch.manual_seed(0)
    b = s.build("64-1242-basic", "class_object")  # the official constructor's Kaiming init is the default
    w_a, w_b = a.encoder.stem[0].weight, b.encoder.stem[0].weight
    assert not torch.equal(w_a, w_b)
    # kaiming fan_out: std = sqrt(2 / (out * k * k)) = sqrt(2 / 288)
    assert w_b.std().item() == pytest.approx(math.sqrt(2 / 288), rel=0.2)


def test_discriminator_is_optional_and_counted():
    s = get_space("tnb101_macro")
    plain = s.build("64-1242-basic", "autoencoder")
    with_d = s.build("64-1242-basic", "autoencoder", discriminator=True)
    # spectral-norm convs: weight_orig + bias, 6->64->128->256 (5x5), 256->256->512->512->1 (3x3)
    disc = (
        (6 * 64 * 25 + 64)
        + (64 * 128 * 25 + 128)
        + (128 * 256 * 25 + 256)
        + (256 * 256 * 9 + 256)
        + (256 * 512 * 9 + 512)
        + (512 * 512 * 9 + 512)
        + (512 * 9 + 1)
    )
    assert nparams(with_d) - nparams(plain) == disc
    x = torch.randn(1, 3, 64, 64)
    torch.manual_seed(1)
    assert with_d(x).shape == plain(x).shape


EXPECTED_OUT = {
    "class_scene": (2, 47),
    "class_object": (2, 75),
    "room_layout": (2, 9),
    "jigsaw": (2, 1000),
    "segmentsemantic": (2, 17, 64, 64),
    "normal": (2, 3, 64, 64),
    "autoencoder": (2, 3, 64, 64),
}


@pytest.mark.parametrize("task", TASKS)
def test_forward_shape_and_loss(task):
    s = get_space("tnb101_macro")
    arch = "64-121113-basic" if task != "jigsaw" else "64-1242-basic"
    net = s.build(arch, task)
    x, y = synthetic_taskonomy_batch(task, 2, seed=3, size=64)
    spec = s.input_spec(task)
    assert x.shape[1:] == (spec.shape if task == "jigsaw" else (3, 64, 64))
    out = net(x)
    assert out.shape == EXPECTED_OUT[task]
    feats = net.forward_features(x)
    assert feats.dim() == 4 and feats.shape[1] == (9 * 512 if task == "jigsaw" else 128)  # 121113: one x2
    loss = s.loss_fn(task)(out, y)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert net.encoder.stem[0].weight.grad is not None


def test_micro_forward_shapes():
    s = get_space("tnb101_micro")
    net = s.build("64-41414-3_13_203", "segmentsemantic")
    x, y = synthetic_taskonomy_batch("segmentsemantic", 2, seed=0, size=64)
    assert net.forward_features(x).shape == (2, 512, 2, 2)
    assert net(x).shape == (2, 17, 64, 64)
    assert torch.isfinite(s.loss_fn("segmentsemantic")(net(x), y))


def test_input_specs():
    s = get_space("tnb101_micro")
    assert s.input_spec("jigsaw").shape == (9, 3, 64, 64)
    assert s.input_spec("class_object").shape == (3, 256, 256)
    assert s.input_spec("class_object").num_classes == 75 and s.input_spec("class_scene").num_classes == 47
    assert s.input_spec("room_layout").mean == (0.5224, 0.5222, 0.5221)
    assert s.input_spec("normal").std == (0.5, 0.5, 0.5)
    assert s.input_spec("segmentsemantic").target_shape == (256, 256)
    assert s.input_spec("autoencoder").target_shape == (3, 256, 256)


def test_soft_cross_entropy_matches_official_formula():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    target = torch.tensor([[0.7, 0.2, 0.1]])
    p = torch.softmax(logits, -1)
    expected = -(target * torch.log(p + 1e-5)).sum()
    assert soft_cross_entropy(logits, target).item() == pytest.approx(expected.item())
    hard = torch.tensor([[1.0, 0.0, 0.0]])
    assert soft_cross_entropy(logits, hard).item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, torch.tensor([0])).item(), abs=1e-4
    )


# -- Taskonomy data --------------------------------------------------------------------------------


def test_synthetic_batches_are_seeded_and_typed():
    x1, y1 = synthetic_taskonomy_batch("class_object", 3, seed=5, size=32)
    x2, y2 = synthetic_taskonomy_batch("class_object", 3, seed=5, size=32)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert torch.allclose(y1.sum(1), torch.ones(3))
    _, ys = synthetic_taskonomy_batch("segmentsemantic", 2, seed=0, size=32)
    assert ys.dtype == torch.int64 and ys.shape == (2, 32, 32) and int(ys.max()) < 17
    xj, yj = synthetic_taskonomy_batch("jigsaw", 2, seed=0)
    assert xj.shape == (2, 9, 3, 64, 64) and yj.dtype == torch.int64
    xa, ya = synthetic_taskonomy_batch("autoencoder", 2, seed=0, size=32)
    assert torch.equal(xa, ya)


def _mini_taskonomy(root: Path, rng: np.random.Generator) -> None:
    Image = pytest.importorskip("PIL.Image")
    templates = []
    for building in ("alpha", "beta"):
        for p in range(2):
            stem = f"point_{p}_view_0_domain_{{d}}"
            for d in ("rgb", "class_object", "class_scene", "room_layout", "segmentsemantic", "normal"):
                (root / building / d).mkdir(parents=True, exist_ok=True)
            base = root / building
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
                base / "rgb" / (stem.format(d="rgb") + ".png")
            )
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
                base / "normal" / (stem.format(d="normal") + ".png")
            )
            Image.fromarray(rng.integers(0, 18, (40, 48), dtype=np.uint8)).save(
                base / "segmentsemantic" / (stem.format(d="segmentsemantic") + ".png")
            )
            np.save(base / "class_object" / (stem.format(d="class_object") + ".npy"), rng.random(1000))
            np.save(base / "class_scene" / (stem.format(d="class_scene") + ".npy"), rng.random(365))
            np.save(base / "room_layout" / (stem.format(d="room_layout") + ".npy"), rng.normal(size=9))
            templates.append(f"{building}/{{domain}}/point_{p}_view_0_domain_{{domain}}.png")
    (root / "train_split.json").write_text(json.dumps(["alpha", "beta"]))


def test_taskonomy_reader(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "taskonomydata_mini"
    _mini_taskonomy(root, rng)
    x, y = load_taskonomy_batch(root, "room_layout", 3, seed=1, size=64)
    assert x.shape == (3, 3, 64, 64) and y.shape == (3, 9)
    x2, _ = load_taskonomy_batch(tmp_path, "room_layout", 3, seed=1, size=64)  # parent folder works
    assert torch.equal(x, x2)
    # normalisation: rgb in [0,1] mapped with the classification mean/std
    lo = (0 - 0.5224) / 0.2234
    assert x.min() >= lo - 1e-4 and x.max() <= (1 - 0.5221) / 0.2236 + 1e-4
    with pytest.raises(DataError, match="class_object_final5k.npy"):
        load_taskonomy_batch(root, "class_object", 2, seed=0, size=32)
    mask = np.zeros(1000)
    mask[rng.choice(1000, 75, replace=False)] = 1
    np.save(root / "class_object_final5k.npy", mask)
    _, yc = load_taskonomy_batch(root, "class_object", 2, seed=0, size=32)
    assert yc.shape == (2, 75) and torch.allclose(yc.sum(1), torch.ones(2, dtype=yc.dtype))
    _, ys = load_taskonomy_batch(root, "segmentsemantic", 4, seed=0, size=32)
    assert ys.dtype == torch.int64 and int(ys.min()) >= 0 and int(ys.max()) <= 16
    xa, ya = load_taskonomy_batch(root, "autoencoder", 2, seed=0, size=32)
    assert torch.equal(xa, ya) and xa.min() >= -1 - 1e-6 and xa.max() <= 1 + 1e-6
    _, yn = load_taskonomy_batch(root, "normal", 2, seed=0, size=32)
    assert yn.shape == (2, 3, 32, 32) and yn.min() >= 0 and yn.max() <= 1
    with pytest.raises(DataError, match="permutations_hamming_max_1000"):
        load_taskonomy_batch(root, "jigsaw", 2, seed=0)
    perms = np.stack([rng.permutation(9) for _ in range(1000)])
    np.save(root / "permutations_hamming_max_1000.npy", perms)
    xj, yj = load_taskonomy_batch(root, "jigsaw", 2, seed=0)
    assert xj.shape == (2, 9, 3, 64, 64) and 0 <= xj.min() and xj.max() <= 1 and yj.shape == (2,)
    with pytest.raises(DataError, match="only 4"):
        load_taskonomy_batch(root, "room_layout", 5, seed=0)
    with pytest.raises(DataError):
        load_taskonomy_batch(tmp_path / "nowhere", "room_layout", 1, seed=0)
