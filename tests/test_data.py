"""Image data: the official CIFAR/ImageNet16 pickle layouts, normalisation, dataloads, synthetic batches."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import torch

from zcbench.data import synthetic_batch
from zcbench.data.images import load_train_split
from zcbench.errors import DataError
from zcbench.spaces import get_space


def _write_cifar10(root, images, labels, per_file=None):
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # R, G, B planes, row-major
    for i in range(1, 6):
        with open(d / f"data_batch_{i}", "wb") as fh:  # python-2 style pickle with bytes keys, as the real files
            pickle.dump(
                {
                    b"batch_label": b"training batch",
                    b"data": data,
                    b"labels": list(labels),
                    b"filenames": [b"x.png"] * len(labels),
                },
                fh,
                protocol=2,
            )


@pytest.fixture
def real_cifar10(shared_data, tmp_path):
    """A miniature cifar-10-batches-py built from the 20 real CIFAR-10 test images."""
    from PIL import Image

    files = sorted((shared_data / "images").glob("cifar10_*.png"))
    imgs = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    labels = [int(re.match(r"cifar10_\d+_(\d+)\.png", f.name).group(1)) for f in files]
    _write_cifar10(tmp_path, imgs, labels)
    return tmp_path, imgs, np.array(labels)


def test_cifar10_reader_keeps_pixels_channels_and_labels(real_cifar10):
    root, imgs, labels = real_cifar10
    x, y = load_train_split("cifar10", str(root))
    assert x.shape == (100, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[:20], imgs)
    np.testing.assert_array_equal(y[:20], labels)
    assert labels[:3].tolist() == [3, 8, 8]  # the first CIFAR-10 test images: cat, ship, ship


def test_batch_normalisation_matches_nb201(real_cifar10):
    root, imgs, labels = real_cifar10
    sp = get_space("nb201")
    x, y = sp.make_batch("cifar10", 8, seed=0, data_dir=root)
    assert x.shape == (8, 3, 32, 32) and y.shape == (8,)
    # undo the normalisation: pixels must be crops/flips of real images, on the 0..255 grid
    mean = torch.tensor([125.3, 123.0, 113.9]).view(1, 3, 1, 1)
    std = torch.tensor([63.0, 62.1, 66.7]).view(1, 3, 1, 1)
    px = x * std + mean
    assert torch.allclose(px, px.round(), atol=1e-3) and px.min() >= -1e-3 and px.max() <= 255 + 1e-3
    x2, y2 = sp.make_batch("cifar10", 8, seed=0, data_dir=root)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    x3, _ = sp.make_batch("cifar10", 8, seed=1, data_dir=root)
    assert not torch.equal(x, x3)


def test_grasp_dataload_takes_n_per_class(real_cifar10, tmp_path):
    root, imgs, labels = real_cifar10
    sp = get_space("nb201")
    # classes 2 and 4 are not among the first 20 images: a batch without them would be stored as grasp2
    with pytest.raises(DataError, match=r"--dataload-info 2: 2 of the 10 cifar10 classes .* \(class 2: 0\)"):
        sp.make_batch("cifar10", 64, seed=0, data_dir=root, dataload="grasp", dataload_info=2)
    every = np.arange(20) % 10  # the same pixels with every class present twice
    _write_cifar10(tmp_path / "all", imgs, every)
    x, y = sp.make_batch("cifar10", 64, seed=0, data_dir=tmp_path / "all", dataload="grasp", dataload_info=2)
    assert x.shape == (20, 3, 32, 32) and np.bincount(y.numpy(), minlength=10).tolist() == [2] * 10


def test_a_batch_larger_than_the_images_is_refused(real_cifar10):
    root, _, _ = real_cifar10
    with pytest.raises(DataError, match=r"--batch-size 101: .* holds only 100 cifar10 training images"):
        get_space("nb201").make_batch("cifar10", 101, seed=0, data_dir=root)
    assert get_space("nb201").make_batch("cifar10", 100, seed=0, data_dir=root)[0].shape[0] == 100


def test_imagenet16_keeps_120_classes_and_shifts_labels(tmp_path):
    d = tmp_path / "ImageNet16"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, 11):
        labels = [1, 120, 121, 1000, 5]
        with open(d / f"train_data_batch_{i}", "wb") as fh:
            pickle.dump(
                {"data": rng.integers(0, 255, (5, 768), dtype=np.uint8), "labels": labels, "mean": np.zeros(768)}, fh
            )
    x, y = load_train_split("ImageNet16-120", str(tmp_path))
    assert x.shape == (30, 16, 16, 3) and sorted(set(y.tolist())) == [0, 4, 119]
    xb, yb = get_space("nb201").make_batch("ImageNet16-120", 4, 0, data_dir=tmp_path)
    assert xb.shape == (4, 3, 16, 16)


def test_cifar100_fine_labels(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    with open(d / "train", "wb") as fh:
        pickle.dump({"data": np.zeros((3, 3072), np.uint8), "fine_labels": [7, 99, 0], "coarse_labels": [1, 2, 3]}, fh)
    _, y = load_train_split("cifar100", str(tmp_path))
    assert y.tolist() == [7, 99, 0]


def test_missing_images_name_the_expected_files(tmp_path, monkeypatch):
    monkeypatch.delenv("ZCBENCH_DATA", raising=False)
    sp = get_space("nb201")
    with pytest.raises(DataError, match=r"cifar-10-batches-py/data_batch_1.*data/README.md"):
        sp.check_data("cifar10", None)
    with pytest.raises(DataError, match="missing cifar-100-python/train"):
        sp.check_data("cifar100", tmp_path)
    x, _ = sp.make_batch("cifar100", 2, 0, synthetic=True)  # synthetic needs nothing
    assert x.shape == (2, 3, 32, 32)


def test_malformed_batch_file(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    (d / "train").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataError):
        load_train_split("cifar100", str(tmp_path))


def test_synthetic_batch_is_seeded_gaussian():
    spec = get_space("nb201").input_spec("cifar100")
    x, y = synthetic_batch(spec, 256, 3)
    assert x.shape == (256, 3, 32, 32) and abs(float(x.mean())) < 0.02 and abs(float(x.std()) - 1) < 0.02
    assert int(y.max()) < 100
    x2, _ = synthetic_batch(spec, 256, 3)
    assert torch.equal(x, x2)
