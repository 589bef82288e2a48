"""Lesson 06, section 8: which Adam learning rate lets WGAN-GP make good images in 10 minutes of compute?

    python benchmarks/wgan_lr_search.py --threads 1                       # all 7 runs, 10 minutes each
    python benchmarks/wgan_lr_search.py --threads 1 --only wgan_gp-lr8e-4
    python benchmarks/wgan_lr_search.py --only wgan_gp-lr8e-4 --seconds 5 --samples 500 --no-write   # a try

Gulrajani et al.'s Algorithm 1 uses Adam at 1e-4, made for long runs. A 10-minute CPU budget gives about
3,000 generator steps, each with 5 critic steps and their double backward, so the learning rate has to be
chosen again for this budget. Each run trains lesson 05's first DCGAN generator
(``dcgan.DCGenerator``, 32 channels) on the training split, seed 0, for ``--seconds`` of compute (600: the
budget of ``benchmarks/wgan_quality.py`` and ``benchmarks/dcgan_quality.py``; this process's CPU time divided
by its threads):

- ``wgan_gp``: the critic ``dcgan.DCDiscriminator(norm="layer")`` (no batch norm: the penalty needs each
  image's score to depend on that image alone), ``wgan.train_wgan``: batches of 64, 5 critic steps per
  generator step, λ = 10, Adam with β = (0, 0.9) at 4e-4, 8e-4 and 1.6e-3;
- ``dcgan``: the same generator against lesson 05's batch-norm discriminator with the BCE loss
  (``gan.train_gan``), Adam with β = (0.5, 0.999): Radford et al.'s 2e-4, then 8e-4 and 1.6e-3 (batches of
  128), and 8e-4 with batches of 64. It is the yardstick: what the same search gives the GAN that WGAN-GP is
  compared with.

Then 5,000 samples (``--samples``) of the last generator are judged by the course's reference classifier
(lesson 01): the confident share (p > 0.9), the class histogram's entropy / log 10, and the Fréchet distance
to as many images of the **validation split** in its features. No benchmark reports the validation split, so
choosing by these figures does not tune on the test split. The figures chose ``wgan.IMAGE_LR``. Writes
``benchmarks/results/wgan_lr_search.json`` (``--output`` for another name; ``--no-write`` prints only).
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
from course_utils.models import gan, wgan  # noqa: E402
from course_utils.models.dcgan import DCDiscriminator, DCGenerator  # noqa: E402

# One row each: the loss (WGAN-GP or the BCE DCGAN), Adam's learning rate and the batch size.
RUNS = [
    {"kind": "wgan_gp", "lr": 4e-4, "batch_size": 64},
    {"kind": "wgan_gp", "lr": 8e-4, "batch_size": 64},
    {"kind": "wgan_gp", "lr": 1.6e-3, "batch_size": 64},
    {"kind": "dcgan", "lr": 2e-4, "batch_size": 128},
    {"kind": "dcgan", "lr": 8e-4, "batch_size": 128},
    {"kind": "dcgan", "lr": 1.6e-3, "batch_size": 128},
    {"kind": "dcgan", "lr": 8e-4, "batch_size": 64},
]
USUAL_BATCH = {"wgan_gp": 64, "dcgan": 128}


def short(x: float) -> str:
    """A learning rate as it is usually written: 0.0008 → "8e-4", 0.0016 → "1.6e-3"."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def name_of(run: dict) -> str:
    """``wgan_gp-lr8e-4``, or ``dcgan-lr8e-4-batch64`` when the batch is not the kind's usual one."""
    batch = "" if run["batch_size"] == USUAL_BATCH[run["kind"]] else f"-batch{run['batch_size']}"
    return f"{run['kind']}-lr{short(run['lr'])}{batch}"


def train(run: dict, train_images: torch.Tensor, args, device) -> tuple:
    """Train one run for the compute budget; return its generator and the number of generator steps."""
    seed_everything(args.seed)
    generator = DCGenerator(noise_dim=64, channels=32).to(device)
    options = dict(steps=10**9, batch_size=run["batch_size"], lr=run["lr"], seed=args.seed,
                   max_seconds=args.seconds, clock=compute_clock(device), show_progress=False)  # fmt: skip
    if run["kind"] == "wgan_gp":
        critic = DCDiscriminator(channels=32, norm="layer").to(device)
        result = wgan.train_wgan(generator, critic, train_images, log_every=100, **options)
    else:
        discriminator = DCDiscriminator(channels=32).to(device)
        result = gan.train_gan(generator, discriminator, train_images, log_every=250, **options)
    return generator, result


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


def summary(rows: list) -> dict:
    """The two lines that ``benchmarks/README.md`` shows: what is compared, and the figures that decide."""

    def figures(kind: str) -> str:
        cells = []
        for row in rows:
            if row["kind"] == kind:
                batch = "" if row["batch_size"] == USUAL_BATCH[kind] else f" (batch {row['batch_size']})"
                cells.append(f"{short(row['lr'])}{batch} {row['judged']['frechet_validation']}")
        return ", ".join(cells)

    labels = {"wgan_gp": "WGAN-GP", "dcgan": "DCGAN"}
    parts = [
        f"{label} {figures(kind)}" for kind, label in labels.items() if any(r["kind"] == kind for r in rows)
    ]
    seconds = max(row["compute_seconds"] for row in rows)
    return {
        "compares": "WGAN-GP's Adam learning rate on Fashion-MNIST in 10 minutes of compute, beside the BCE "
        "DCGAN at its own learning rates, judged on the validation split",
        "headline": f"Fréchet distance on validation: {'; '.join(parts)}",
        "lesson": "06",
        "budget": f"{seconds:g} s of compute each, {len(rows)} runs",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [name_of(run) for run in RUNS]
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                        help=f"train only these runs (of: {', '.join(names)})")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=600.0, help="compute seconds per run")
    parser.add_argument("--samples", type=int, default=5000, help="samples judged per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (the recorded run: 1)")
    parser.add_argument("--output", default="wgan_lr_search", help="results file name (benchmarks/results/)")
    parser.add_argument("--no-write", action="store_true", help="print only (for trying the script)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = get_device()
    train_images = load_dataset("fashion-mnist", "train").images * 2 - 1
    validation = load_dataset("fashion-mnist", "validation").images[: args.samples]
    classifier = reference_classifier("fashion-mnist", device=device)
    validation_features = classifier_features(validation, model=classifier)

    rows = []
    for run in RUNS:
        if args.only and name_of(run) not in args.only:
            continue
        generator, result = train(run, train_images, args, device)
        judged = judge(generator, args.samples, args.seed + 1, classifier, validation_features)
        rows.append({"name": name_of(run), **run, "generator_steps": result.steps,
                     "compute_seconds": round(result.seconds, 1), "judged": judged})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)

    print(f"\n{'run':24}{'generator steps':>16}{'Fréchet (validation)':>22}{'confident':>11}{'entropy':>9}")
    for row in rows:
        judged = row["judged"]
        print(f"{row['name']:24}{row['generator_steps']:>16,}{judged['frechet_validation']:>22}"
              f"{judged['confident']:>11.1%}{judged['entropy']:>9.3f}")  # fmt: skip
    print(summary(rows)["headline"])

    figures = {
        "settings": {"seconds": args.seconds, "samples": args.samples, "seed": args.seed,
                     "generator": "dcgan.DCGenerator(noise_dim=64, channels=32)",
                     "wgan_gp": {"critic": 'dcgan.DCDiscriminator(norm="layer")', "betas": list(wgan.BETAS),
                                 "n_critic": wgan.N_CRITIC, "gp_weight": wgan.GP_WEIGHT},
                     "dcgan": {"discriminator": "dcgan.DCDiscriminator()", "betas": [0.5, 0.999]},
                     "judged_against": "validation split"},
        "runs": rows,
    }  # fmt: skip
    if not args.no_write:
        path = write_results(args.output, figures)
        record = json.loads(path.read_text())
        path.write_text(json.dumps({**record, "summary": summary(rows)}, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
