"""Experiment: DCGAN / WGAN-GP on Fashion-MNIST for a CPU budget; judged on the validation
split (N = 5,000): confident share, entropy, Fréchet, also with truncated noise (z · ψ).

Usage: img_exp.py KIND SCHED SECONDS LR BATCH [TAG], KIND dcgan or wgan. SCHED is recorded only: the one run with
a cosine learning-rate schedule (DCGAN, 2026-11-26) used a ``schedule`` option of ``gan.train_gan`` that was removed
after that run lost (Fréchet 117.5 against 78.3 without it)."""

import json
import sys
import time

import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
from course_utils import load_dataset, seed_everything
from course_utils.judge import classifier_features, judge_samples, reference_classifier
from course_utils.metrics import frechet_distance
from course_utils.models import gan, wgan
from course_utils.models.dcgan import DCDiscriminator, DCGenerator

kind, sched_name, budget, lr, batch = (
    sys.argv[1],
    sys.argv[2],
    float(sys.argv[3]),
    float(sys.argv[4]),
    int(sys.argv[5]),
)
tag = sys.argv[6] if len(sys.argv) > 6 else ""
seed_everything(0)
train = load_dataset("fashion-mnist", "train")
val = load_dataset("fashion-mnist", "validation")
judge = reference_classifier("fashion-mnist")
G = DCGenerator(noise_dim=64, channels=32)
clock = time.process_time
if kind == "dcgan":
    D = DCDiscriminator(channels=32)
    run = gan.train_gan(
        G,
        D,
        train.images * 2 - 1,
        steps=10**9,
        batch_size=batch,
        lr=lr,
        seed=0,
        log_every=250,
        max_seconds=budget,
        clock=clock,
        show_progress=False,
    )
else:
    D = DCDiscriminator(norm="layer")
    run = wgan.train_wgan(
        G,
        D,
        train.images * 2 - 1,
        steps=10**9,
        batch_size=batch,
        lr=lr,
        seed=0,
        log_every=100,
        max_seconds=budget,
        clock=clock,
        show_progress=False,
    )
torch.save(G.state_dict(), f"/tmp/G_{kind}_{sched_name}_{lr}_{batch}{tag}.pt")
vf = classifier_features(val.images, model=judge)
out = {"kind": kind, "sched": sched_name, "lr": lr, "batch": batch, "steps": run.steps, "budget": budget}
for psi in (1.0, 0.8, 0.6):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        G.eval()
        z = torch.randn(5000, 64, generator=g) * psi
        s = G(z)
    v = judge_samples(s, model=judge)
    out[f"psi{psi}"] = {
        "confident": round(float(v["confident_share"]), 4),
        "entropy": round(float(v["entropy_ratio"]), 4),
        "classes": v["classes_produced"],
        "frechet_val": round(frechet_distance(classifier_features(s, model=judge), vf), 2),
    }
print(json.dumps(out), flush=True)
json.dump(out, open(f"/tmp/img_{kind}_{sched_name}_{lr}_{batch}{tag}.json", "w"))
