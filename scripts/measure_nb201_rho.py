"""Spearman ρ of AZ-NAS, TE-NAS, GradSign, NASI and KNAS against NB201 validation accuracy, on the
architectures of a CSV with real CIFAR-10 images.

    python scripts/measure_nb201_rho.py ARCHS.csv IMAGES_DIR [--out scores.csv] [--limit N] [--threads T]

``ARCHS.csv`` has columns ``arch`` (official NB201 strings) and ``val_accuracy`` (e.g. NASLib's NB201 sample,
``naslib-zc/nb201_cifar10.csv``); ``IMAGES_DIR`` holds CIFAR-10 PNGs named ``cifar10_<index>_<label>.png``
(32×32 RGB). All of them form the one minibatch (normalised as zcbench's CIFAR-10 loader, no augmentation),
so the batch size is the number of images. Each architecture is the full NB201 network (C=16, N=5) seeded
with its row number; the scores of each finished architecture are appended to ``--out`` (so a run can be
resumed). The data-free AZ-NAS components and linear regions use their authors' 64 Gaussian inputs;
KNAS uses every image (its code's 50 needs a minibatch of 50). Finally the population proxies are ranked
over all the architectures scored and every proxy's ρ and τ against ``val_accuracy`` printed.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from zcbench.aggregates import AGGREGATES
from zcbench.proxies import ProxyContext
from zcbench.proxies.runner import compute_scores
from zcbench.spaces import get_space

PROXIES = [
    "az_expressivity",
    "az_progressivity",
    "az_trainability",
    "az_complexity",
    "ntk_cond",
    "linear_regions",
    "gradsign",
    "knas",
    "nasi",
]
IMAGE = re.compile(r"cifar10_(\d+)_(\d+)\.png$")


def load_images(folder: Path, spec) -> tuple[torch.Tensor, torch.Tensor]:
    """The CIFAR-10 PNGs of ``folder`` in index order, normalised with the space's mean and std."""
    from PIL import Image

    found = sorted((int(m.group(1)), int(m.group(2)), p) for p in folder.iterdir() if (m := IMAGE.search(p.name)))
    if not found:
        sys.exit(f"no cifar10_<index>_<label>.png images in {folder}")
    arr = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) for _, _, p in found]) / 255.0
    x = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
    x = (x - torch.tensor(spec.mean).view(1, -1, 1, 1)) / torch.tensor(spec.std).view(1, -1, 1, 1)
    return x, torch.tensor([label for _, label, _ in found])


def score_all(rows: list[dict], x: torch.Tensor, y: torch.Tensor, out: Path) -> None:
    """Score every architecture not yet in ``out``, appending one line per architecture."""
    sp = get_space("nb201")
    spec = sp.input_spec("cifar10")
    done = {r["arch"] for r in read(out)} if out.exists() else set()
    opts = {"az_batch": 64, "lr_batch": 64, "knas_samples": len(x), "batch_size": len(x)}
    with out.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, ["arch", *PROXIES])
        if not done:
            writer.writeheader()
        for i, row in enumerate(rows):
            if row["arch"] in done:
                continue
            t0 = time.perf_counter()

            def make(i=i, arch=row["arch"]):
                torch.manual_seed(i)
                return sp.build(arch, "cifar10")

            ctx = ProxyContext(x, y, spec.shape, spec.num_classes, seed=i, options=opts)
            res = compute_scores(PROXIES, make, ctx)
            writer.writerow({"arch": row["arch"], **{p: res[p].score for p in PROXIES}})
            fh.flush()
            print(f"{i + 1}/{len(rows)} {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)


def read(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def report(rows: list[dict], out: Path) -> None:
    """ρ and τ against val_accuracy of every proxy, the population proxies ranked over all rows scored."""
    scored = {r["arch"]: r for r in read(out)}
    keep = [r for r in rows if r["arch"] in scored]
    acc = np.array([float(r["val_accuracy"]) for r in keep])
    cols = {p: np.array([float(scored[r["arch"]][p]) for r in keep]) for p in PROXIES}
    for name, agg in AGGREGATES.items():
        cols[name] = agg.combine([cols[c] for c in agg.inputs])
    print(f"{len(keep)} architectures; real CIFAR-10 minibatch; target val_accuracy")
    print(f"{'proxy':18s} {'n':>4s} {'spearman':>9s} {'kendall':>8s}")
    for p in ["az_nas", "te_nas", *PROXIES]:
        ok = np.isfinite(cols[p])
        if ok.sum() > 2 and np.ptp(cols[p][ok]) > 0:
            rho = stats.spearmanr(cols[p][ok], acc[ok]).correlation
            tau = stats.kendalltau(cols[p][ok], acc[ok]).correlation
            print(f"{p:18s} {int(ok.sum()):4d} {rho:9.3f} {tau:8.3f}")
        else:
            value = f"constant {cols[p][ok][0]:g}" if ok.any() else "no score"
            print(f"{p:18s} {int(ok.sum()):4d} {'-':>9s} {'-':>8s}  ({value})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archs", type=Path)
    ap.add_argument("images", type=Path)
    ap.add_argument("--out", type=Path, default=Path("nb201_rho_scores.csv"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = read(args.archs)[: args.limit]
    x, y = load_images(args.images, get_space("nb201").input_spec("cifar10"))
    print(f"minibatch: {len(x)} real CIFAR-10 images", file=sys.stderr)
    score_all(rows, x, y, args.out)
    report(rows, args.out)


if __name__ == "__main__":
    main()
