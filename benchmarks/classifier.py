"""Benchmark: the reference classifier's test accuracy and training time on the full dataset.

    python benchmarks/classifier.py                 # Fashion-MNIST, the judge's settings
    .venv/bin/python benchmarks/classifier.py --dataset mnist                     # MNIST (full only when downloadable)
    .venv/bin/python benchmarks/classifier.py --save                              # also save it as the reference

Targets (issue 3): at least 92% test accuracy on Fashion-MNIST (anchor: the two-convolution CNN of the
Fashion-MNIST benchmark, 92.2%) and 99% on full MNIST, training in at most 5 minutes on 2 CPU cores. Prints the
figures and writes them as JSON to ``benchmarks/results/classifier[-<dataset>].json``.

Validation and test: the model trains on the "train" split (55,000 images for the full datasets). The accuracy
after each epoch is measured on the "validation" split (5,000 images held out of the official training images):
that curve is where any choice of epochs or learning rate is made. The test split is used once, at the end, for
the final figure. Augmentation is the judge's, per dataset (``course_utils.judge.AUGMENTATION``): 1-pixel shifts for
both, left-right flips for Fashion-MNIST only (a mirrored digit is no digit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine  # noqa: E402
from course_utils import load_dataset, seed_everything
from course_utils.checkpoints import save_checkpoint
from course_utils.judge import AUGMENTATION, FULL_TRAINING, checkpoint_path
from course_utils.models.classifier import Classifier, accuracy, train_classifier

TARGETS = {"fashion-mnist": 0.92, "mnist": 0.99}
TIME_LIMIT_S = 300.0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="fashion-mnist", choices=sorted(TARGETS))
    parser.add_argument("--epochs", type=int, default=FULL_TRAINING["epochs"])
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--no-augment", action="store_true", help="train without flips and shifts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--save", action="store_true", help="save the model as the course's reference classifier"
    )
    parser.add_argument("--results-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)

    load_at_start = os.getloadavg()[0]  # > 2 on this 2-core machine: other programs shared it
    seed_everything(args.seed)
    train = load_dataset(args.dataset, "train")
    validation = load_dataset(args.dataset, "validation")
    test = load_dataset(args.dataset, "test")
    augmentation = {"flip": False, "max_shift": 0} if args.no_augment else AUGMENTATION[args.dataset]
    model = Classifier()
    params = sum(p.numel() for p in model.parameters())
    print(f"Classifier: {params:,} parameters; {args.epochs} epochs; torch threads {torch.get_num_threads()}; "
          f"augmentation {augmentation}")  # fmt: skip
    history = train_classifier(
        model,
        train.images,
        train.labels,
        epochs=args.epochs,
        lr=args.lr,
        use_augmentation=not args.no_augment,
        device="cpu",
        seed=args.seed,
        # One evaluation per epoch on the VALIDATION images (the curve to tune on); its time is not counted.
        test=(validation.images, validation.labels),
        show_progress=sys.stderr.isatty(),
        **augmentation,
    )
    validation_curve = history["test_accuracy"]  # train_classifier's name for its per-epoch evaluation set
    print(f"Validation accuracy per epoch ({len(validation.labels):,} images):",
          " ".join(f"{a:.2%}" for a in validation_curve))  # fmt: skip
    test_accuracy = accuracy(model, test.images, test.labels)
    subset = "SUBSET" in train.source
    target = TARGETS[args.dataset]
    ok_accuracy, ok_time = test_accuracy >= target, history.seconds <= TIME_LIMIT_S
    print(f"Test accuracy (final, test split used once): {test_accuracy:.2%} on {len(test.labels):,} test images "
          f"(target ≥ {target:.0%}) "
          f"{'OK' if ok_accuracy else 'MISSED'}")  # fmt: skip
    print(f"Training wall time: {history.seconds:.1f} s for {len(train.labels):,} images × {args.epochs} epochs "
          f"(limit {TIME_LIMIT_S:.0f} s) {'OK' if ok_time else 'MISSED'}")  # fmt: skip
    if subset:
        print("Note: this dataset is a subset (no internet); the target applies to the full dataset.")

    result = {
        "benchmark": "classifier",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "load_average_1min": {"start": round(load_at_start, 2), "end": round(os.getloadavg()[0], 2)},
        "dataset": args.dataset,
        "data_source": train.source,
        "subset": subset,
        "train_images": len(train.labels),
        "validation_images": len(validation.labels),
        "test_images": len(test.labels),
        "parameters": params,
        "epochs": args.epochs,
        "lr": args.lr,
        "augmentation": augmentation,
        "test_accuracy": test_accuracy,
        "validation_accuracy_per_epoch": validation_curve,
        "train_seconds": round(history.seconds, 1),
        "targets": {"test_accuracy": target, "train_seconds": TIME_LIMIT_S},
        "met": {"accuracy": ok_accuracy, "time": ok_time},
    }
    out_dir = args.results_dir
    out_dir.mkdir(exist_ok=True)
    name = "classifier" if args.dataset == "fashion-mnist" else f"classifier-{args.dataset}"
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {out_dir / (name + '.json')}")
    if args.save:
        path = save_checkpoint(model, checkpoint_path(args.dataset), dataset=args.dataset, fast=False,
                               epochs=args.epochs, train_images=len(train.labels), test_accuracy=test_accuracy,
                               test_images=len(test.labels), train_seconds=round(history.seconds, 1),
                               source=train.source, augmentation=augmentation)  # fmt: skip
        print(f"Saved the reference classifier to {path}")
    return 0 if (ok_accuracy and ok_time) or subset else 1


if __name__ == "__main__":
    sys.exit(main())
