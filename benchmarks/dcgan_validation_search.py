"""Lesson 05, section 7: where a DCGAN needs more layers, and which learning rate, for 10 minutes of compute.

    python benchmarks/dcgan_validation_search.py --threads 1     # all 11 configurations, 10 minutes each
    python benchmarks/dcgan_validation_search.py --threads 1 --only g2-d2-lr8e-4-avg0.995
    python benchmarks/dcgan_validation_search.py --only g1-d1-lr2e-4 --seconds 5 --samples 500 --no-write

Each configuration is a pair of lesson 05's networks (``course_utils.models.dcgan``) and a training setting:

- the generator with one or two convolutions per scale (``DCGenerator(convs_per_scale=1 or 2)``: the second
  adds a 3×3 convolution at 14×14, and the 28×28 image is painted by a 3×3 convolution from 16 feature maps);
- the discriminator with one convolution per scale (``"1"``, DCGAN's), one 3×3 convolution more after the last
  strided one (``"1+7x7"``), or one more at each scale (``"2"``: ``DCDiscriminator(convs_per_scale=2)``, the
  "standard CNN" of Miyato et al., 2018), 32 channels wide unless the name says ``w48``;
- Adam's learning rate (β = (0.5, 0.999), Radford et al.'s; their 2e-4 is the first row), and the decay of a
  moving average of the generator's weights (``gan.train_gan(..., average_decay=...)``; none in the first
  row).

Every configuration trains with lesson 04's step (``gan.train_step``) on the training split, batches of 128,
seed 0, for ``--seconds`` of compute (600: the 10 minutes of ``benchmarks/dcgan_quality.py``; compute time is
this process's CPU time divided by its threads, see ``benchmarks/common.py``). A deeper network makes fewer
steps in the same time, and that is part of what is compared. Then 5,000 samples (``--samples``) of the last
generator and of the averaged one are judged by the course's reference classifier (lesson 01): the share it
classifies with p > 0.9 (confident), the class histogram's entropy / log 10, and the Fréchet distance to as
many images of the **validation split** in its 128 features. The validation split (5,000 images held out of
the training images) is never reported by a benchmark, so choosing by these figures does not tune on the test
split.

The figures chose lesson 05's final DCGAN (``dcgan.DEEPER_LR``, ``dcgan.DEEPER_AVERAGE_DECAY``).
Writes ``benchmarks/results/dcgan_validation_search.json`` (``--output`` for another name; ``--no-write``
prints only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import compute_clock, write_results  # noqa: E402
from course_utils import get_device, load_dataset, seed_everything  # noqa: E402
from course_utils.judge import classifier_features, judge_samples, reference_classifier  # noqa: E402
from course_utils.metrics import frechet_distance  # noqa: E402
from course_utils.models import dcgan, gan  # noqa: E402

BATCH_SIZE = 128
# One row each: the generator's convolutions per scale, the discriminator's layout and width, Adam's learning
# rate, and the decay of the moving average of G's weights (None: the last generator only).
CONFIGURATIONS = [
    {"g": 1, "d": "1", "d_channels": 32, "lr": 2e-4, "average": None},
    {"g": 1, "d": "1", "d_channels": 32, "lr": 8e-4, "average": 0.999},
    {"g": 2, "d": "1", "d_channels": 32, "lr": 2e-4, "average": 0.999},
    {"g": 2, "d": "1", "d_channels": 32, "lr": 8e-4, "average": 0.999},
    {"g": 2, "d": "1+7x7", "d_channels": 32, "lr": 2e-4, "average": 0.999},
    {"g": 2, "d": "1+7x7", "d_channels": 32, "lr": 8e-4, "average": 0.999},
    {"g": 2, "d": "2", "d_channels": 32, "lr": 2e-4, "average": 0.999},
    {"g": 2, "d": "2", "d_channels": 32, "lr": 4e-4, "average": 0.999},
    {"g": 2, "d": "2", "d_channels": 32, "lr": 8e-4, "average": 0.999},
    {"g": 2, "d": "2", "d_channels": 32, "lr": 8e-4, "average": 0.995},
    {"g": 2, "d": "2", "d_channels": 48, "lr": 8e-4, "average": 0.995},
]


def short(x: float) -> str:
    """A learning rate as it is usually written: 0.0008 → "8e-4", 0.0016 → "1.6e-3"."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def name_of(config: dict) -> str:
    """A short name for a configuration, e.g. ``g2-d2-lr8e-4-avg0.995`` or ``g2-d2w48-lr8e-4-avg0.995``."""
    width = "" if config["d_channels"] == 32 else f"w{config['d_channels']}"
    average = f"-avg{config['average']:g}" if config["average"] else ""
    return f"g{config['g']}-d{config['d']}{width}-lr{short(config['lr'])}{average}"


def build_discriminator(layout: str, channels: int) -> nn.Module:
    """Lesson 05's discriminator: one ("1") or two ("2") convolutions per scale, or one more at 7×7 only."""
    if layout == "2":
        return dcgan.DCDiscriminator(channels=channels, convs_per_scale=2)
    discriminator = dcgan.DCDiscriminator(channels=channels)
    if layout == "1+7x7":  # a 3×3 convolution after the last strided one, at 7×7
        extra = dcgan.same_size_block(2 * channels, 2 * channels, "batch", leaky=True)
        extra.apply(dcgan.init_weights)
        discriminator.features.append(extra)
    return discriminator


def judge(generator: nn.Module, n: int, seed: int, classifier, validation_features: torch.Tensor) -> dict:
    """The judge's verdict on ``n`` fresh samples, and their Fréchet distance to the validation images."""
    samples = generator.generate(n, torch.Generator().manual_seed(seed)).cpu()
    verdict = judge_samples(samples, model=classifier)
    features = classifier_features(samples, model=classifier)
    return {
        "confident": round(float(verdict["confident_share"]), 3),
        "entropy": round(float(verdict["entropy_ratio"]), 3) + 0.0,  # + 0.0 turns -0.0 into 0.0
        "classes": verdict["classes_produced"],
        "frechet_validation": round(frechet_distance(features, validation_features), 1),
    }


def train_and_judge(config: dict, args, train_images, classifier, validation_features, device) -> dict:
    """Train one configuration for the compute budget; judge its last generator and its averaged one."""
    seed_everything(args.seed)
    generator = dcgan.DCGenerator(noise_dim=64, channels=32, convs_per_scale=config["g"]).to(device)
    discriminator = build_discriminator(config["d"], config["d_channels"]).to(device)
    run = gan.train_gan(generator, discriminator, train_images, steps=10**9, batch_size=BATCH_SIZE,
                        lr=config["lr"], average_decay=config["average"], seed=args.seed, log_every=250,
                        max_seconds=args.seconds, clock=compute_clock(device),
                        show_progress=False)  # fmt: skip
    noise_seed = args.seed + 1
    row = {
        "name": name_of(config),
        **config,
        "parameters": {
            "generator": sum(p.numel() for p in generator.parameters()),
            "discriminator": sum(p.numel() for p in discriminator.parameters()),
        },  # fmt: skip
        "steps": run.steps,
        "compute_seconds": round(run.seconds, 1),
        "last": judge(generator, args.samples, noise_seed, classifier, validation_features),
        "averaged": None,
    }
    if run.averaged is not None:
        row["averaged"] = judge(run.averaged, args.samples, noise_seed, classifier, validation_features)
    return row


def final(row: dict) -> dict:
    """The generator a configuration is judged by: the averaged one when it has one, else the last."""
    return row["averaged"] or row["last"]


def summary(rows: list) -> dict:
    """The two lines that ``benchmarks/README.md`` shows: what is compared, and the figures that decide."""
    best = min(rows, key=lambda r: final(r)["frechet_validation"])
    first = rows[0]
    return {
        "compares": "lesson 05's DCGAN with one or two convolutions per scale in G and D, Adam's learning "
        "rate and G's weight average, each trained for the same compute and judged on the validation split",
        "headline": f"best: {best['name']}, Fréchet {final(best)['frechet_validation']} and "
        f"{final(best)['confident']:.1%} confident on validation; {first['name']}: "
        f"{final(first)['frechet_validation']} and {final(first)['confident']:.1%}",
        "lesson": "05",
        "budget": f"{first['compute_seconds']:g} s of compute each, {len(rows)} configurations",
    }


def print_table(rows: list) -> None:
    """One line per configuration: steps done, then Fréchet distance and confident share of each generator."""
    header = f"{'last G: FD':>12}{'confident':>11}{'average: FD':>13}{'confident':>11}"
    print(f"\n{'configuration':30}{'steps':>8}{header}")
    for row in rows:
        cells = []
        for which in ("last", "averaged"):
            figures = row[which]
            cells.append(
                f"{figures['frechet_validation']:>12}{figures['confident']:>11.1%}"
                if figures
                else f"{'–':>12}{'–':>11}"
            )
        print(f"{row['name']:30}{row['steps']:>8,}{cells[0]}{cells[1]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [name_of(c) for c in CONFIGURATIONS]
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                        help=f"train only these configurations (of: {', '.join(names)})")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=600.0, help="compute seconds per configuration")
    parser.add_argument("--samples", type=int, default=5000, help="samples judged per generator")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (the recorded run: 1)")
    parser.add_argument(
        "--output", default="dcgan_validation_search", help="results file name (benchmarks/results/)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only (for trying the script)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = get_device()
    train_images = load_dataset("fashion-mnist", "train").images * 2 - 1
    validation = load_dataset("fashion-mnist", "validation").images[: args.samples]
    classifier = reference_classifier("fashion-mnist", device=device)
    validation_features = classifier_features(validation, model=classifier)
    real = judge_samples(validation, model=classifier)
    print(f"Real validation images: {real['confident_share']:.1%} confident.")

    rows = []
    for config in CONFIGURATIONS:
        if args.only and name_of(config) not in args.only:
            continue
        rows.append(train_and_judge(config, args, train_images, classifier, validation_features, device))
        print(json.dumps(rows[-1]), flush=True)
    print_table(rows)

    figures = {
        "settings": {"seconds": args.seconds, "samples": args.samples, "seed": args.seed,
                     "batch_size": BATCH_SIZE, "betas": [0.5, 0.999], "generator_channels": 32,
                     "judged_against": "validation split"},
        "real_validation": {"confident": round(float(real["confident_share"]), 3),
                            "entropy": round(float(real["entropy_ratio"]), 3)},
        "configurations": rows,
    }  # fmt: skip
    print(summary(rows)["headline"])
    if not args.no_write:
        path = write_results(args.output, figures)
        record = json.loads(path.read_text())
        path.write_text(json.dumps({**record, "summary": summary(rows)}, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
