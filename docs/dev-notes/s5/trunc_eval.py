import json
import sys

import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
from course_utils import load_checkpoint, load_dataset
from course_utils.judge import classifier_features, judge_samples, reference_classifier
from course_utils.metrics import frechet_distance

judge = reference_classifier("fashion-mnist")
val = load_dataset("fashion-mnist", "validation")
vf = classifier_features(val.images, model=judge)
G, _ = load_checkpoint(sys.argv[1])
G.eval()
for psi in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):
    z = torch.randn(5000, G.noise_dim, generator=torch.Generator().manual_seed(1)) * psi
    with torch.no_grad():
        s = G(z)
    v = judge_samples(s, model=judge)
    print(
        json.dumps(
            {
                "psi": psi,
                "confident": round(float(v["confident_share"]), 4),
                "entropy": round(float(v["entropy_ratio"]), 4),
                "classes": v["classes_produced"],
                "frechet_val": round(frechet_distance(classifier_features(s, model=judge), vf), 2),
            }
        ),
        flush=True,
    )
