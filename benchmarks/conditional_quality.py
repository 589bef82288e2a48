"""Lesson 07's quality bar: do the conditional GANs and the conditional VAE make the class they are asked for?

    python benchmarks/conditional_quality.py --alone       # the final figures
    python benchmarks/conditional_quality.py --split validation  # comparing settings

Trains lesson 07's two conditional GANs side by side, each for at most ``--cgan-steps`` steps or
``--cgan-minutes`` minutes of compute (``conditional.ConditionalGenerator`` / ``ConditionalDiscriminator``;
Adam 2e-4, β₁ = 0.5, batch 64):

- ``channels``: D reads the label as extra input channels (Mirza & Osindero, 2014), the lesson's first cGAN;
- ``auxiliary``: D reads the image alone and has a second head that names its class, trained on real images,
  while G is also rewarded when that head names the class G was asked for (AC-GAN, Odena, Olah & Shlens, 2017),
  the end of the lesson's §4. D's loss is BCE(real, 1) + BCE(fake, 0) + CE(class head on real, y), every term
  with weight 1 as in the lesson's formula and in Odena et al. (``conditional.cgan_train_step``);

(``--conditionings`` picks others, e.g. ``projection`` for the projection discriminator), and its conditional VAE
(``conditional.ConditionalVAE``, 16 latent dimensions) for ``--cvae-epochs`` epochs, all on the training split
(55,000 images). Then, for each model and each of the 10
classes, it asks for ``--per-class`` images (1,000 by default) of that class and measures, with the course's
reference classifier (the judge, ``course_utils.judge``):

- **requested-class accuracy**: the share the judge files under the requested class (target: ≥ 90% over all
  classes for the lesson's final cGAN, the one with the auxiliary classifier; exit status 1 if not met). Beside
  it: the judge's accuracy on real held-out images of each class, since the judge itself is not always right;
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
``benchmarks/results/conditional_quality[-validation].json`` (figures under ``cgan`` for the label channels,
``cgan_auxiliary`` and ``cgan_projection`` for the others). It also saves the models in ``checkpoint_dir()`` for
lesson 08's league table, named after the run (``conditional_quality-cgan-seed<seed>.pt`` for the label-channel
cGAN, with ``steps``; ``…-cgan-auxiliary-…``, ``…-cgan-projection-…`` and ``…-cvae-…``, with ``epochs``), each with
``train_images``, and records each file with its SHA-256 in the results.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import compute_clock, load_average, save_run_checkpoint, write_results  # noqa: E402
from course_utils import get_device, load_dataset, seed_everything  # noqa: E402
from course_utils.judge import classifier_features, judge_samples, reference_classifier  # noqa: E402
from course_utils.metrics import frechet_distance  # noqa: E402
from course_utils.models import conditional  # noqa: E402
from course_utils.training import Budget, Report  # noqa: E402

FIGURES_KEY = {"channels": "cgan", "auxiliary": "cgan_auxiliary", "projection": "cgan_projection"}
LABELS = {"channels": "cGAN", "auxiliary": "AC-GAN", "projection": "projection"}

TARGET_CGAN_ACCURACY = 0.90
# The league row each saved model stands for (lesson 08); the projection cGAN has none.
LEAGUE_ROWS = {"cgan": "cgan", "cgan-auxiliary": "acgan", "cvae": "cvae"}


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
    parser.add_argument("--conditionings", default="channels,auxiliary",
                        help="the cGANs' discriminators, comma-separated: channels, auxiliary, projection")  # fmt: skip
    parser.add_argument("--cvae-epochs", type=int, default=10)
    parser.add_argument("--per-class", type=int, default=1_000, help="samples per requested class")
    parser.add_argument("--clusters", type=int, default=10, help="k-means clusters per class for the entropy")
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--train-images", type=int, default=None, help="limit the training images (tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alone", action="store_true", help="say that nothing else ran on the machine")
    parser.add_argument("--results-dir", type=Path, default=None, help="where to write the JSON (tests)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.conditionings.split(",") if k.strip()]
    if not kinds or any(k not in conditional.CONDITIONINGS for k in kinds):
        parser.error(
            f"--conditionings takes some of {', '.join(conditional.CONDITIONINGS)}; got {args.conditionings!r}"
        )

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

    cgans = {}  # conditioning → (generator, steps, compute seconds)
    for kind in kinds:
        seed_everything(args.seed)
        generator = conditional.ConditionalGenerator(noise_dim=64, channels=args.channels).to(device)
        discriminator = conditional.ConditionalDiscriminator(channels=args.channels, conditioning=kind)
        print(f"cGAN ({kind}): up to {args.cgan_steps:,} steps or {args.cgan_minutes:g} minutes on {device} "
              f"({threads} threads).")  # fmt: skip
        start = clock()
        budget = Budget(steps=args.cgan_steps, seconds=args.cgan_minutes * 60, clock=clock)
        history = conditional.train_cgan(generator, discriminator, train.images * 2 - 1, train.labels, budget,
                                         batch_size=64, seed=args.seed,
                                         report=Report(desc=f"cGAN ({kind})", log_every=500))  # fmt: skip
        cgans[kind] = (generator, history.steps_done, clock() - start)

    torch.manual_seed(args.seed)
    cvae = conditional.ConditionalVAE(latent_dim=16).to(device)
    start = clock()
    conditional.train_cvae(cvae, train.images, train.labels, epochs=args.cvae_epochs, seed=args.seed)
    cvae_compute = clock() - start

    saved = []  # the models, for the league table (lesson 08)
    to_save = [(generator, "cgan" if kind == "channels" else f"cgan-{kind}", {"steps": steps}, compute)
               for kind, (generator, steps, compute) in cgans.items()]  # fmt: skip
    to_save.append((cvae, "cvae", {"epochs": args.cvae_epochs}, cvae_compute))
    output = "conditional_quality" + (
        "" if args.split == "test" else f"-{args.split}"
    )  # its results file's name
    for model, name, budget, compute in to_save:
        saved.append(save_run_checkpoint(model.cpu(), output, name, args.seed, league_row=LEAGUE_ROWS.get(name),
                                         **budget, train_images=len(train.labels),
                                         compute_seconds=round(compute, 1)))  # fmt: skip
        model.to(device)

    def cgan_images(generator):
        return lambda k, n: conditional.sample_class(generator, k, n)

    def cvae_images(k: int, n: int) -> torch.Tensor:
        return cvae.sample(torch.full((n,), k))

    makers = {FIGURES_KEY[kind]: cgan_images(generator) for kind, (generator, _, _) in cgans.items()}
    makers["cvae"] = cvae_images
    figures = {
        name: per_class_figures(make, train, held_out, judge, args.per_class, args.clusters, args.seed)
        for name, make in makers.items()
    }
    real_accuracy = [
        judge_samples(held_out.images[held_out.labels == k][: args.per_class], model=judge)["class_counts"][k]
        / len(held_out.images[held_out.labels == k][: args.per_class])
        for k in range(10)
    ]

    for kind, (_, steps, compute) in cgans.items():
        print(f"\n{LABELS[kind]} ({kind}): {steps:,} steps in {compute:.0f} s of compute.", end="")
    print(f"\ncVAE: {args.cvae_epochs} epochs in {cvae_compute:.0f} s.")
    print(f"{args.per_class:,} samples per requested class; Fréchet distance in the judge's features (not comparable "
          f"with papers' FIDs) against {args.split} images of the class, floor = training vs the same images.")  # fmt: skip
    columns = [(FIGURES_KEY[kind], LABELS[kind]) for kind in cgans] + [("cvae", "cVAE")]
    first = figures[columns[0][0]]  # the floor and the real images' entropy are the same for every model
    tables = (  # title, figure, reference column: its name, per class, mean
        ("requested-class accuracy", "requested_class_accuracy", "real", real_accuracy, sum(real_accuracy) / 10),
        ("Fréchet distance", "frechet", "floor", [row["frechet_floor"] for row in first["per_class"]],
         first["mean_frechet_floor"]),
        ("entropy within the class", "within_class_entropy", "real",
         [row["within_class_entropy_real"] for row in first["per_class"]], first["mean_within_class_entropy_real"]),
    )  # fmt: skip
    for title, key, reference_name, reference, reference_mean in tables:
        fmt = ".1f" if key == "frechet" else ".3f"
        print(
            f"\n{title}:\n{'class':>12} |"
            + "".join(f"{label:>9}" for _, label in columns)
            + f"{reference_name:>9}"
        )
        for k in range(10):
            cells = "".join(f"{figures[name]['per_class'][k][key]:>9{fmt}}" for name, _ in columns)
            print(f"{classes[k]:>12} |{cells}{reference[k]:>9{fmt}}")
        means = "".join(
            f"{sum(row[key] for row in figures[name]['per_class']) / 10:>9{fmt}}" for name, _ in columns
        )
        print(f"{'mean':>12} |{means}{reference_mean:>9{fmt}}")
    final = "auxiliary" if "auxiliary" in cgans else kinds[0]
    accuracy = figures[FIGURES_KEY[final]]["requested_class_accuracy"]
    passed = accuracy >= TARGET_CGAN_ACCURACY
    print(f"\nTarget: the lesson's final cGAN ({LABELS[final]}) requested-class accuracy ≥ "
          f"{TARGET_CGAN_ACCURACY:.0%}: {accuracy:.1%}, {'PASSED' if passed else 'NOT MET'}.")  # fmt: skip

    wall = time.perf_counter() - wall_start
    load_end = load_average()
    record = {
        "split": args.split,
        "train_images": len(train.labels),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "generator_config": next(iter(cgans.values()))[0].config,
        "cgan_steps_done": {kind: steps for kind, (_, steps, _) in cgans.items()},
        "cgan_compute_seconds": {kind: round(compute, 1) for kind, (_, _, compute) in cgans.items()},
        "cvae_config": cvae.config,
        "cvae_compute_seconds": round(cvae_compute, 1),
        "checkpoints": saved,
        "wall_seconds": round(wall, 1),
        "load_average_1min_start": load_start,
        "load_average_1min_end": load_end,
        "ran_alone": bool(args.alone),
        "real_requested_class_accuracy": real_accuracy,
        "real_mean_accuracy": sum(real_accuracy) / 10,
        **figures,
        "target_applies_to": FIGURES_KEY[final],
        "target_cgan_accuracy": TARGET_CGAN_ACCURACY,
        "passed": passed,
    }
    name = "conditional_quality" + ("" if args.split == "test" else f"-{args.split}")
    if args.results_dir is not None:
        import benchmarks.common as common

        common.RESULTS_DIR = args.results_dir
    write_results(name, record)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
