"""Batch throughput: our in-memory tensor batches vs torchvision's DataLoader + ToTensor, side by side.

    python benchmarks/pipeline_throughput.py            # full Fashion-MNIST training split
    python benchmarks/pipeline_throughput.py --quick    # a few batches (a smoke test)

Both pipelines deliver shuffled batches of 128 images as float tensors in [0, 1] with their labels; the loop
touches every batch (a sum) so nothing is skipped lazily. Prints images per second for both and the ratio, and
writes them to benchmarks/results/pipeline_throughput.json.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import write_results  # noqa: E402
from course_utils import TensorBatches, data, load_dataset  # noqa: E402

BATCH_SIZE = 128


def torchvision_root() -> Path:
    """A folder in torchvision's layout: the course's cache if it holds the files, else a copy of Debian's."""
    cache = data.data_dir()
    if (cache / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file():
        return cache
    root = Path(tempfile.mkdtemp(prefix="fmnist-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in data.DEBIAN_FASHION_MNIST_DIR.glob("*.gz"):
        with gzip.open(gz, "rb") as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def images_per_second(batches, max_images: int) -> tuple[float, int]:
    seen, checksum = 0, 0.0
    start = time.perf_counter()
    for x, _ in batches:
        checksum += float(x.sum())
        seen += len(x)
        if seen >= max_images:
            break
    return seen / (time.perf_counter() - start), seen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few batches only (smoke test)")
    args = parser.parse_args()
    torch.manual_seed(0)
    baseline_images = 2_560 if args.quick else 30_000
    ours_images = 2_560 if args.quick else 180_000  # three epochs

    train = load_dataset("fashion-mnist", "train")
    ours = TensorBatches(train.images, train.labels, batch_size=BATCH_SIZE, shuffle=True, seed=0)
    images_per_second(ours, 12_800)  # warm-up (first touch of memory), not timed
    ours_rate, ours_seen = 0.0, 0
    epochs_needed = max(1, ours_images // len(train.labels))
    start = time.perf_counter()
    for _ in range(epochs_needed):
        _, seen = images_per_second(ours, ours_images)
        ours_seen += seen
    ours_rate = ours_seen / (time.perf_counter() - start)

    root = torchvision_root()
    dataset = torchvision.datasets.FashionMNIST(
        str(root), train=True, download=False, transform=torchvision.transforms.ToTensor()
    )
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, num_workers=0)
    images_per_second(loader, 1_280)  # warm-up, not timed
    base_rate, base_seen = images_per_second(loader, baseline_images)

    ratio = ours_rate / base_rate
    print(f"{'pipeline':<40} {'images/s':>12} {'images timed':>14}")
    print(f"{'DataLoader + ToTensor (num_workers=0)':<40} {base_rate:>12,.0f} {base_seen:>14,}")
    print(f"{'course_utils.TensorBatches':<40} {ours_rate:>12,.0f} {ours_seen:>14,}")
    print(f"ratio: {ratio:.1f}x the images/s of DataLoader + ToTensor")
    if not args.quick:
        write_results(
            "pipeline_throughput",
            {
                "batch_size": BATCH_SIZE,
                "dataloader_totensor_images_per_s": round(base_rate),
                "tensor_batches_images_per_s": round(ours_rate),
                "ratio": round(ratio, 1),
            },
        )


if __name__ == "__main__":
    main()
