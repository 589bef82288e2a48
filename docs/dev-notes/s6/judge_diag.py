"""Issue 15 check (session 6): is the DCGAN's low confident share an artefact of how its samples are judged?
Compares, on the validation split (N = 5,000), the checkpoint's samples in eval mode, in train mode (batch
statistics), with their near-black background set to 0, and the confident share per class against real images'.

Usage: judge_diag.py CHECKPOINT
"""

import json
import sys

import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
from course_utils import load_checkpoint, load_dataset
from course_utils.judge import classifier_features, judge_samples, reference_classifier
from course_utils.metrics import frechet_distance

torch.set_num_threads(1)
judge = reference_classifier("fashion-mnist")
val = load_dataset("fashion-mnist", "validation")
val_features = classifier_features(val.images, model=judge)
generator, _ = load_checkpoint(sys.argv[1])


def report(name: str, images01: torch.Tensor) -> None:
    verdict = judge_samples(images01, model=judge)
    distance = frechet_distance(classifier_features(images01, model=judge), val_features)
    row = {"what": name, "confident": round(float(verdict["confident_share"]), 4),
           "entropy": round(float(verdict["entropy_ratio"]), 4), "frechet_val": round(distance, 2)}  # fmt: skip
    print(json.dumps(row), flush=True)


report("real validation images", val.images[:5000])
z = torch.randn(5000, generator.noise_dim, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    samples = (generator.eval()(z) + 1) / 2
    train_mode = (torch.cat([generator.train()(part) for part in z.split(128)]) + 1) / 2
report("eval mode", samples)
report("train mode, batches of 128", train_mode)
for threshold in (0.02, 0.05, 0.1):
    report(f"pixels below {threshold} set to 0", samples.masked_fill(samples < threshold, 0))
with torch.no_grad():
    for name, images in (("generated", samples), ("real", val.images[:5000])):
        top, label = torch.softmax(judge(images), 1).max(1)
        shares = [f"{k}: {(top[label == k] > 0.9).float().mean():.2f}" for k in range(10)]
        print(name, "confident share per predicted class:", ", ".join(shares))
