"""Lesson 11's quality bar: flow matching in an autoencoder's latent space against lesson 09's pixel flow.

    python benchmarks/latent_quality.py          # about 45 minutes on 2 CPU threads, alone
    python benchmarks/latent_quality.py --pixel-minutes 0.1 --autoencoder-minutes 0.05 --latent-minutes 0.05 \
        --sweep 2,4 --samples 300 --cfg-minutes 0.05 --per-class 20 --output latent-smoke

Both sides train on the same 55,000-image Fashion-MNIST train split with the course's recipe (Adam, warm-up +
cosine), each for a budget of compute (CPU time / threads, 2 threads), keeping a moving average of the weights
(decay ``--decay``) beside the last weights; each side samples the copy with the lower Fréchet distance to the
validation images (1,000 samples; the same rule for both). Samples take ``--sample-steps`` Euler steps on both
sides. Every choice is made on the validation split; the test split gives the final figures only.

1. **Latent space**, for each latent size C in ``--sweep`` (C×7×7 numbers per image): a ``LatentAutoencoder``
   (light KL, ``--kl-weight``; batch 64, Adam 2e-3) for ``--autoencoder-minutes``; its **reconstruction floor**
   (the Fréchet distance of the reconstructions of 5,000 validation images to the test images); the train split
   encoded once (counted in the compute); a ``LatentVelocityNet`` (batch 128, Adam 2e-3) on the scaled latents for
   ``--latent-minutes``. The size compared with pixels is chosen by exercise 11.5's rule (the smallest within
   ``--tolerance`` of the best) on the samples' distances to the validation images.
2. **Pixel space**: lesson 09's flow-matching ``SmallUNet`` (channels 16/32/64, batch 64, Adam 1e-3) for
   ``--pixel-minutes``.
3. **Guidance in the latent space**: a conditional ``LatentVelocityNet`` with label dropout (0.1, lesson 10) on
   the chosen size's latents for ``--cfg-minutes``, sampled with classifier-free guidance at ``--scales``
   (``--per-class`` per class): requested-class accuracy (the judge), Fréchet distance and recall.
4. **Sampling time**: seconds per 1,000 images, wall-clock, 2 threads, decoding included, the two models timed
   back to back at the end (the fastest of 3 tries).

Scores: ``--samples`` samples of each model against as many test images in the course judge's features (lesson
08): Fréchet distance, precision and recall (k = 3), beside the real-data floor (validation images against the
same test images). Targets (issue 33): the latent model's Fréchet distance at most the pixel model's, with at most
a quarter of its training compute, sampling at least 5× faster, and within 1.5× of its own reconstruction floor.
Writes ``benchmarks/results/<output>.json`` and saves the models to ``checkpoint_dir()`` (lesson 11 loads them).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import compute_clock, load_average, save_run_checkpoint, write_results  # noqa: E402
from course_utils import load_dataset, seed_everything  # noqa: E402
from course_utils.judge import classifier_features, reference_classifier  # noqa: E402
from course_utils.metrics import frechet_distance, precision_recall  # noqa: E402
from course_utils.models import flow_matching, guidance, latent  # noqa: E402
from course_utils.models.classifier import predict_proba  # noqa: E402
from course_utils.models.time_networks import SmallUNet, train_time_model  # noqa: E402
from course_utils.training import Budget, Report  # noqa: E402

TARGETS = {"compute_share": 0.25, "sampling_speedup": 5.0, "floor_ratio": 1.5}


def parse(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pixel-minutes", type=float, default=16.0, help="compute minutes, pixel model")
    parser.add_argument(
        "--autoencoder-minutes", type=float, default=1.5, help="compute minutes, each autoencoder"
    )
    parser.add_argument("--latent-minutes", type=float, default=2.3, help="compute minutes, each latent flow")
    parser.add_argument("--sweep", default="1,2,4,8", help="latent sizes C (C×7×7 numbers per image)")
    parser.add_argument("--tolerance", type=float, default=0.1, help="exercise 11.5's rule on validation")
    parser.add_argument("--kl-weight", type=float, default=1e-3)
    parser.add_argument("--decay", type=float, default=0.999, help="the weights' moving average")
    parser.add_argument("--samples", type=int, default=5000, help="samples per model (and reference images)")
    parser.add_argument("--sample-steps", type=int, default=50, help="Euler steps per sample, both sides")
    parser.add_argument("--cfg-minutes", type=float, default=2.3, help="compute minutes, conditional model")
    parser.add_argument("--scales", default="0,1,2", help="classifier-free guidance scales w")
    parser.add_argument("--per-class", type=int, default=200, help="samples per class and scale")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="latent_quality")
    return parser.parse_args(argv)


class Scorer:
    """Fréchet distance, precision and recall in the judge's features against ``n`` reference images: the test
    images (final figures) or the validation images (every choice the benchmark makes)."""

    def __init__(self, n: int) -> None:
        self.judge = reference_classifier()
        self.references = {split: classifier_features(load_dataset("fashion-mnist", split).images[:n])
                           for split in ("test", "validation")}  # fmt: skip

    def score(self, images: torch.Tensor, split: str = "test") -> dict:
        """``images`` N×1×28×28 in [0, 1] (N ≤ n) against the first N reference images of ``split``."""
        features = classifier_features(images.clamp(0, 1))
        reference = self.references[split][: len(features)]
        pr = precision_recall(reference, features)
        return {"frechet": round(frechet_distance(features, reference), 2), "precision": round(pr["precision"], 3),
                "recall": round(pr["recall"], 3), "n": len(features)}  # fmt: skip


def draw(sample, n: int, seed: int = 1, batch: int = 1000) -> torch.Tensor:
    """``sample(k, generator)`` in batches of ``batch``: n images in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.cat([sample(min(batch, n - start), generator) for start in range(0, n, batch)])


def seconds_per_1000(sample, repeats: int = 3) -> float:
    """Wall-clock seconds to draw 1,000 images (the fastest of ``repeats`` tries, after a warm-up)."""
    sample(100, torch.Generator().manual_seed(0))
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        sample(1000, torch.Generator().manual_seed(1))
        best = min(best, time.perf_counter() - started)
    return round(best, 2)


def better_copy(history, model, sampler_of, scorer: Scorer, n: int = 1000):
    """The last weights or their moving average, whichever has the lower Fréchet distance to the validation
    images on ``n`` samples; returns (network, "last" or "averaged", both distances)."""
    scores = {}
    for name, network in (("last", model), ("averaged", history.averaged)):
        scores[name] = scorer.score(draw(sampler_of(network), n, seed=7), split="validation")["frechet"]
    chosen = min(scores, key=scores.get)
    return (model if chosen == "last" else history.averaged), chosen, scores


def pixel_side(args, train_images, scorer, clock):
    torch.manual_seed(args.seed)
    model = SmallUNet(channels=(16, 32, 64), time_dim=64, time_scale=1000.0)
    history = train_time_model(model, train_images * 2 - 1, flow_matching.flow_matching_loss,
                               seconds=args.pixel_minutes * 60, batch_size=64, lr=1e-3, clock=clock,
                               average_decay=args.decay, desc="pixel flow", log_every=100)  # fmt: skip

    def sampler_of(network):
        def sample(k, generator):
            x = flow_matching.sample(
                network, (k, 1, 28, 28), args.sample_steps, generator=generator, clip=(-1, 1)
            )
            return (x + 1) / 2

        return sample

    network, copy, trial = better_copy(history, model, sampler_of, scorer)
    row = {"steps": history.steps_done, "train_compute_seconds": round(history.seconds, 1), "weights": copy,
           "validation_frechet_n1000_by_weights": trial, **scorer.score(draw(sampler_of(network), args.samples)),
           "checkpoint": save_run_checkpoint(network, args.output, "pixel-flow", args.seed,
                                             steps=history.steps_done, weights=copy)}  # fmt: skip
    print(
        f"Pixel flow: {history.steps_done} steps, {history.seconds:.0f} s of compute; Fréchet {row['frechet']:.1f}"
    )
    return row, sampler_of(network)


def latent_side(args, channels, train_images, validation_images, scorer, clock):
    """One latent size: the autoencoder, its floors, the flow on its scaled latents, and their scores."""
    torch.manual_seed(args.seed)
    autoencoder = latent.LatentAutoencoder(latent_channels=channels)
    ae_history = latent.train_latent_autoencoder(autoencoder, train_images,
                                                 Budget(seconds=args.autoencoder_minutes * 60, clock=clock),
                                                 kl_weight=args.kl_weight, seed=args.seed,
                                                 report=Report(desc=f"autoencoder C={channels}", log_every=100))  # fmt: skip
    started = clock()
    latents = latent.encode_dataset(autoencoder, train_images)
    scale = latent.latent_scale(latents)
    encode_seconds = clock() - started
    n = args.samples
    reconstruct = lambda images: latent.reconstruct_dataset(autoencoder, images)  # noqa: E731
    # The floor: reconstructions of held-out images. Of validation images against the test images (the final
    # figure), and of training images against the validation images (the figure choices are made on).
    floor = latent.reconstruction_floor(reconstruct, validation_images[:n], scorer.references["test"][:n],
                                        classifier_features, frechet_distance)  # fmt: skip
    validation_floor = latent.reconstruction_floor(reconstruct, train_images[:n],
                                                   scorer.references["validation"][:n], classifier_features, frechet_distance)  # fmt: skip
    error = float(
        (reconstruct(validation_images[:n]) - validation_images[:n]).pow(2).flatten(1).sum(1).mean()
    )

    torch.manual_seed(args.seed)
    velocity = latent.LatentVelocityNet(latent_channels=channels)
    history = train_time_model(velocity, latents * scale, flow_matching.flow_matching_loss,
                               seconds=args.latent_minutes * 60, batch_size=128, lr=2e-3, clock=clock,
                               average_decay=args.decay, desc=f"latent flow C={channels}", log_every=100)  # fmt: skip

    def sampler_of(network):
        model = latent.LatentFlow.from_parts(autoencoder, network, scale)
        return lambda k, generator: model.sample(k, steps=args.sample_steps, generator=generator)

    network, copy, trial = better_copy(history, velocity, sampler_of, scorer)
    model = latent.LatentFlow.from_parts(autoencoder, network, scale)
    samples = draw(sampler_of(network), n)
    compute = ae_history.seconds + encode_seconds + history.seconds
    row = {"channels": channels, "latent_numbers": channels * 49,
           "autoencoder": {"steps": ae_history.steps_done, "train_compute_seconds": round(ae_history.seconds, 1),
                           "encode_compute_seconds": round(encode_seconds, 1), "scale": round(scale, 4),
                           "reconstruction_squared_error": round(error, 2), "reconstruction_floor": round(floor, 2),
                           "validation_reconstruction_floor": round(validation_floor, 2)},
           "flow_steps": history.steps_done, "flow_compute_seconds": round(history.seconds, 1),
           "train_compute_seconds": round(compute, 1), "weights": copy,
           "validation_frechet_n1000_by_weights": trial,
           "validation": scorer.score(samples, split="validation"), **scorer.score(samples)}  # fmt: skip
    row["floor_ratio"] = round(row["frechet"] / floor, 2)
    print(f"Latent flow C={channels}: Fréchet {row['frechet']:.1f} (floor {floor:.1f}); validation "
          f"{row['validation']['frechet']:.1f}")  # fmt: skip
    return row, model, latents * scale


def guided_side(args, model, scaled, labels, scorer, clock) -> dict:
    torch.manual_seed(args.seed)
    velocity = latent.LatentVelocityNet(latent_channels=model.autoencoder.latent_channels, num_classes=10)
    history = guidance.train_guided_flow(velocity, scaled, labels, Budget(seconds=args.cfg_minutes * 60, clock=clock),
                                         batch_size=128, lr=2e-3, average_decay=None, seed=args.seed,
                                         report=Report(desc="conditional latent flow", log_every=100))  # fmt: skip
    guided = latent.LatentFlow.from_parts(model.autoencoder, velocity, model.scale)
    requests = guidance.requested_labels(args.per_class)
    rows = []
    for w in [float(s) for s in args.scales.split(",")]:
        images = guided.sample(len(requests), steps=args.sample_steps, labels=requests, w=w,
                               generator=torch.Generator().manual_seed(2))  # fmt: skip
        probs = predict_proba(scorer.judge, images)
        rows.append({"w": w, "requested_class_accuracy": round(guidance.class_accuracy(probs, requests), 4),
                     **scorer.score(images)})  # fmt: skip
        print(f"Latent CFG w = {w:g}: accuracy {rows[-1]['requested_class_accuracy']:.1%}, "
              f"recall {rows[-1]['recall']:.2f}, Fréchet {rows[-1]['frechet']:.1f}")  # fmt: skip
    return {"steps": history.steps_done, "train_compute_seconds": round(history.seconds, 1), "p_uncond": 0.1,
            "weights": "last", "rows": rows,
            "checkpoint": save_run_checkpoint(guided, args.output, "latent-cfg", args.seed, steps=history.steps_done)}  # fmt: skip


def main(argv=None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    wall_start, loads = time.perf_counter(), [load_average()]
    clock = compute_clock(torch.device("cpu"))
    train = load_dataset("fashion-mnist", "train")
    validation = load_dataset("fashion-mnist", "validation")
    scorer = Scorer(args.samples)
    figures = {"settings": vars(args), "targets": TARGETS,
               "real_validation": scorer.score(validation.images[: args.samples])}  # fmt: skip

    # 1. Every latent size; the one compared with pixels is chosen on the validation images (exercise 11.5's rule).
    figures["latent_sizes"], models = [], {}
    for channels in sorted(int(c) for c in args.sweep.split(",")):
        row, model, scaled = latent_side(args, channels, train.images, validation.images, scorer, clock)
        figures["latent_sizes"].append(row)
        models[channels] = (model, scaled)
        loads.append(load_average())
    curve = [
        {"channels": row["channels"], "frechet": row["validation"]["frechet"]}
        for row in figures["latent_sizes"]
    ]
    chosen = latent.choose_latent_channels(curve, args.tolerance)
    figures["chosen_channels"] = chosen
    main_row = next(row for row in figures["latent_sizes"] if row["channels"] == chosen)
    main_model, main_scaled = models[chosen]
    main_row["checkpoint"] = save_run_checkpoint(main_model, args.output, "latent-flow", args.seed,
                                                 steps=main_row["flow_steps"], weights=main_row["weights"],
                                                 channels=chosen)  # fmt: skip

    # 2. Lesson 09's pixel flow.
    figures["pixel"], pixel_sampler = pixel_side(args, train.images, scorer, clock)
    loads.append(load_average())

    # 3. Classifier-free guidance on the chosen latent size.
    figures["latent_guided"] = guided_side(args, main_model, main_scaled, train.labels, scorer, clock)
    loads.append(load_average())

    # 4. Sampling time, both models back to back, decoding included.
    print("Timing the samplers (keep the machine idle)...", flush=True)
    figures["pixel"]["seconds_per_1000_images"] = seconds_per_1000(pixel_sampler)
    main_row["seconds_per_1000_images"] = seconds_per_1000(
        lambda k, generator: main_model.sample(k, steps=args.sample_steps, generator=generator)
    )
    loads.append(load_average())

    pixel = figures["pixel"]
    figures["comparison"] = {
        "channels": chosen,
        "compute_share": round(main_row["train_compute_seconds"] / pixel["train_compute_seconds"], 3),
        "sampling_speedup": round(pixel["seconds_per_1000_images"] / main_row["seconds_per_1000_images"], 1),
        "frechet_latent": main_row["frechet"], "frechet_pixel": pixel["frechet"],
        "floor_ratio": main_row["floor_ratio"],
    }  # fmt: skip
    comparison = figures["comparison"]
    figures["passed"] = {
        "frechet": comparison["frechet_latent"] <= comparison["frechet_pixel"],
        "compute": comparison["compute_share"] <= TARGETS["compute_share"],
        "sampling": comparison["sampling_speedup"] >= TARGETS["sampling_speedup"],
        "floor": comparison["floor_ratio"] <= TARGETS["floor_ratio"],
    }
    figures["load_average_1min"] = {"start": loads[0], "end": loads[-1], "all": loads}
    figures["alone"] = max(loads[1:]) < args.threads + 0.5
    figures["wall_seconds"] = round(time.perf_counter() - wall_start, 1)
    print(f"Latent vs pixel: {comparison}; passed {figures['passed']}")
    write_results(args.output, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
