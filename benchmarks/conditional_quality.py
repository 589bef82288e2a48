"""Lesson 07's quality bar: do the conditional GAN and the conditional VAE make the class they are asked for?

    python benchmarks/conditional_quality.py --alone       # the final figures
    python benchmarks/conditional_quality.py --split validation  # comparing settings

Trains lesson 07's conditional GAN (``conditional.ConditionalGenerator`` / ``ConditionalDiscriminator`` with the
label as extra channels, or ``--conditioning projection`` for the projection discriminator; Adam 2e-4, β₁ = 0.5,
batch 64) for at most ``--cgan-steps`` steps or ``--cgan-minutes``
minutes of compute, and its conditional VAE (``conditional.ConditionalVAE``, 16 latent dimensions) for
``--cvae-epochs`` epochs, both on the training split (55,000 images). Then, for each model and each of the 10
classes, it asks for ``--per-class`` images (1,000 by default) of that class and measures, with the course's
reference classifier (the judge, ``course_utils.judge``):

- **requested-class accuracy**: the share the judge files under the requested class (target for the cGAN:
  ≥ 90% over all classes; exit status 1 if not met). Beside it: the judge's accuracy on real held-out images of
  each class, since the judge itself is not always right;
- **per-class Fréchet distance** in the judge's 128 features: the requested class's samples against as many real
  held-out images of that class, beside the real-vs-real floor (as many *training* images of the class against
  the same held-out images) at the same N. Not comparable with papers' FIDs (our classifier, not Inception);
- **entropy within each class** (does the model collapse onto a few looks inside a class?): the class's real
  training images are split into ``--clusters`` clusters (k-means in the judge's features); each sample is
  assigned to its nearest cluster centre, and the entropy of that histogram is divided by log(clusters): 1 = the
  samples spread over the class's clusters evenly, 0 = all in one. Real held-out images of the class get the same
  score as the reference (the clusters are not of equal size, so real images score below 1 too).

Validation vs test: ``--split validation`` (the 5,000 images held out of the training split, about 500 per class)
for comparing settings; ``--split test`` (the default, 1,000 per class) for the final figures. The settings are
DCGAN's published ones (Radford et al., 2016) and the lesson's; they were not tuned on the test split.

Time is *compute* time on a CPU (this process's CPU time / threads), so that other programs on a shared machine
do not eat the training budget; wall-clock time is recorded too, with the 1-minute load average at the start and
the end and whether the run was alone on the machine (``--alone``, as the person running it says). Writes
``benchmarks/results/conditional_quality[-projection][-validation].json``. With the lesson's conditioning
(``channels``) it also saves both models in ``checkpoint_dir()`` for lesson 08's league table:
``cgan-benchmark-fashion-mnist.pt`` (with ``steps``) and ``cvae-benchmark-fashion-mnist.pt`` (with ``epochs``),
each with ``train_images``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import compute_clock, load_average, write_results  # noqa: E402
from course_utils import checkpoint_dir, get_device, load_dataset, save_checkpoint, seed_everything  # noqa: E402
from course_utils.judge import classifier_features, judge_samples, reference_classifier  # noqa: E402
from course_utils.metrics import frechet_distance  # noqa: E402
from course_utils.models import conditional  # noqa: E402

TARGET_CGAN_ACCURACY = 0.90


def kmeans(features: torch.Tensor, k: int, iterations: int = 25, seed: int = 0) -> torch.Tensor:
    """k cluster centres of ``features`` (N×D): Lloyd's algorithm from k-means++ starting centres (each new one
    drawn with probability proportional to its squared distance from the nearest centre so far; Arthur &
    Vassilvitskii, 2007), which keeps two starting centres from falling in the same cluster."""
    rng = torch.Generator().manual_seed(seed)
    centres = features[torch.randint(len(features), (1,), generator=rng)]
    while len(centres) < k:
        weights = torch.cdist(features, centres).min(dim=1).values.pow(2)
        centres = torch.cat([centres, features[torch.multinomial(weights, 1, generator=rng)]])
    centres = centres.clone()
    for _ in range(iterations):
        nearest = torch.cdist(features, centres).argmin(dim=1)
        for j in range(k):
            members = features[nearest == j]
            if len(members):
                centres[j] = members.mean(dim=0)
    return centres


def cluster_entropy(features: torch.Tensor, centres: torch.Tensor) -> float:
    """Entropy of the nearest-centre histogram of ``features``, divided by log(number of centres)."""
    counts = torch.bincount(torch.cdist(features, centres).argmin(dim=1), minlength=len(centres)).double()
    shares = counts[counts > 0] / counts.sum()
    return max(0.0, float(-(shares * shares.log()).sum() / math.log(len(centres))))


def per_class_figures(make_images, train, held_out, judge, per_class: int, clusters: int, seed: int) -> dict:
    """Requested-class accuracy, Fréchet distance (with floor) and within-class entropy for each class."""
    rows = []
    for k in range(10):
        real_held_out = held_out.images[held_out.labels == k][:per_class]
        n = len(real_held_out)
        real_train = train.images[train.labels == k]
        torch.manual_seed(seed + k)
        samples = make_images(k, per_class).cpu()
        verdict = judge_samples(samples, model=judge)
        generated = classifier_features(samples, model=judge)
        held_out_features = classifier_features(real_held_out, model=judge)
        train_features = classifier_features(real_train, model=judge)
        centres = kmeans(train_features.float(), clusters, seed=seed).double()
        rows.append(
            {
                "class": k,
                "requested_class_accuracy": verdict["class_counts"][k] / per_class,
                "judge_class_counts": verdict["class_counts"],
                "frechet": frechet_distance(generated[:n], held_out_features),
                "frechet_floor": frechet_distance(train_features[:n], held_out_features),
                "frechet_n": n,
                "within_class_entropy": cluster_entropy(generated, centres),
                "within_class_entropy_real": cluster_entropy(held_out_features, centres),
            }
        )
    return {
        "per_class": rows,
        "requested_class_accuracy": sum(r["requested_class_accuracy"] for r in rows) / 10,
        "mean_frechet": sum(r["frechet"] for r in rows) / 10,
        "mean_frechet_floor": sum(r["frechet_floor"] for r in rows) / 10,
        "mean_within_class_entropy": sum(r["within_class_entropy"] for r in rows) / 10,
        "mean_within_class_entropy_real": sum(r["within_class_entropy_real"] for r in rows) / 10,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cgan-steps", type=int, default=12_000, help="most cGAN training steps")
    parser.add_argument("--cgan-minutes", type=float, default=8.0, help="most minutes of cGAN compute")
    parser.add_argument("--channels", type=int, default=16, help="width C of the cGAN's networks")
    parser.add_argument("--conditioning", default="channels", choices=["channels", "projection"])
    parser.add_argument("--cvae-epochs", type=int, default=10)
    parser.add_argument("--per-class", type=int, default=1_000, help="samples per requested class")
    parser.add_argument("--clusters", type=int, default=10, help="k-means clusters per class for the entropy")
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--train-images", type=int, default=None, help="limit the training images (tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alone", action="store_true", help="say that nothing else ran on the machine")
    parser.add_argument("--results-dir", type=Path, default=None, help="where to write the JSON (tests)")
    args = parser.parse_args(argv)

    load_start = load_average()
    seed_everything(args.seed)
    device = get_device()
    threads = torch.get_num_threads()

    clock = compute_clock(device)
    wall_start = time.perf_counter()
    train = load_dataset("fashion-mnist", "train", limit=args.train_images)
    held_out = load_dataset("fashion-mnist", args.split)
    judge = reference_classifier("fashion-mnist", device=device)
    classes = train.classes

    generator = conditional.ConditionalGenerator(noise_dim=64, channels=args.channels).to(device)
    discriminator = conditional.ConditionalDiscriminator(
        channels=args.channels, conditioning=args.conditioning
    )
    print(
        f"cGAN: up to {args.cgan_steps:,} steps or {args.cgan_minutes:g} minutes on {device} ({threads} threads)."
    )
    start = clock()
    run = conditional.train_cgan(generator, discriminator, train.images * 2 - 1, train.labels, steps=args.cgan_steps,
                                 batch_size=64, seed=args.seed, log_every=500, max_seconds=args.cgan_minutes * 60,
                                 clock=clock)  # fmt: skip
    cgan_compute = clock() - start

    torch.manual_seed(args.seed)
    cvae = conditional.ConditionalVAE(latent_dim=16).to(device)
    start = clock()
    conditional.train_cvae(cvae, train.images, train.labels, epochs=args.cvae_epochs, seed=args.seed)
    cvae_compute = clock() - start

    saved = []
    if args.conditioning == "channels":  # the lesson's models, for the league table (lesson 08)
        for model, name, budget in ((generator, "cgan", {"steps": run.steps}),
                                    (cvae, "cvae", {"epochs": args.cvae_epochs})):  # fmt: skip
            compute = cgan_compute if name == "cgan" else cvae_compute
            path = checkpoint_dir() / f"{name}-benchmark-fashion-mnist.pt"
            saved.append(str(save_checkpoint(model.cpu(), path, **budget, train_images=len(train.labels),
                                             compute_seconds=round(compute, 1))))  # fmt: skip
            model.to(device)

    def cgan_images(k: int, n: int) -> torch.Tensor:
        return conditional.sample_class(generator, k, n)

    def cvae_images(k: int, n: int) -> torch.Tensor:
        return cvae.sample(torch.full((n,), k))

    figures = {}
    for name, make in (("cgan", cgan_images), ("cvae", cvae_images)):
        figures[name] = per_class_figures(
            make, train, held_out, judge, args.per_class, args.clusters, args.seed
        )
    real_accuracy = [
        judge_samples(held_out.images[held_out.labels == k][: args.per_class], model=judge)["class_counts"][k]
        / len(held_out.images[held_out.labels == k][: args.per_class])
        for k in range(10)
    ]

    print(f"\ncGAN: {run.steps:,} steps in {cgan_compute:.0f} s of compute; cVAE: {args.cvae_epochs} epochs in "
          f"{cvae_compute:.0f} s.")  # fmt: skip
    print(f"{args.per_class:,} samples per requested class; Fréchet distance in the judge's features (not comparable "
          f"with papers' FIDs) against {args.split} images of the class, floor = training vs the same images.")  # fmt: skip
    header = (
        f"{'class':>12} | {'accuracy: cGAN':>14}{'cVAE':>7}{'real':>7} | {'Fréchet: cGAN':>13}{'cVAE':>7}"
    )
    header += f"{'floor':>7} | {'entropy: cGAN':>13}{'cVAE':>7}{'real':>7}"
    print(header)
    for k in range(10):
        g, v = figures["cgan"]["per_class"][k], figures["cvae"]["per_class"][k]
        print(f"{classes[k]:>12} | {g['requested_class_accuracy']:>14.3f}{v['requested_class_accuracy']:>7.3f}"
              f"{real_accuracy[k]:>7.3f} | {g['frechet']:>13.1f}{v['frechet']:>7.1f}{g['frechet_floor']:>7.1f} | "
              f"{g['within_class_entropy']:>13.3f}{v['within_class_entropy']:>7.3f}"
              f"{g['within_class_entropy_real']:>7.3f}")  # fmt: skip
    g, v = figures["cgan"], figures["cvae"]
    print(f"{'mean':>12} | {g['requested_class_accuracy']:>14.3f}{v['requested_class_accuracy']:>7.3f}"
          f"{sum(real_accuracy) / 10:>7.3f} | {g['mean_frechet']:>13.1f}{v['mean_frechet']:>7.1f}"
          f"{g['mean_frechet_floor']:>7.1f} | {g['mean_within_class_entropy']:>13.3f}"
          f"{v['mean_within_class_entropy']:>7.3f}{g['mean_within_class_entropy_real']:>7.3f}")  # fmt: skip
    passed = g["requested_class_accuracy"] >= TARGET_CGAN_ACCURACY
    print(
        f"\nTarget: cGAN requested-class accuracy ≥ {TARGET_CGAN_ACCURACY:.0%}: {'PASSED' if passed else 'NOT MET'}."
    )

    wall = time.perf_counter() - wall_start
    load_end = load_average()
    record = {
        "split": args.split,
        "train_images": len(train.labels),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "generator_config": generator.config,
        "discriminator_config": discriminator.config,
        "cvae_config": cvae.config,
        "cgan_steps_done": run.steps,
        "cgan_compute_seconds": round(cgan_compute, 1),
        "cvae_compute_seconds": round(cvae_compute, 1),
        "checkpoints": saved,
        "wall_seconds": round(wall, 1),
        "load_average_1min_start": load_start,
        "load_average_1min_end": load_end,
        "ran_alone": bool(args.alone),
        "real_requested_class_accuracy": real_accuracy,
        "real_mean_accuracy": sum(real_accuracy) / 10,
        "cgan": figures["cgan"],
        "cvae": figures["cvae"],
        "target_cgan_accuracy": TARGET_CGAN_ACCURACY,
        "passed": passed,
    }
    name = "conditional_quality" + ("" if args.conditioning == "channels" else f"-{args.conditioning}")
    name += "" if args.split == "test" else f"-{args.split}"
    if args.results_dir is not None:
        import benchmarks.common as common

        common.RESULTS_DIR = args.results_dir
    write_results(name, record)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
