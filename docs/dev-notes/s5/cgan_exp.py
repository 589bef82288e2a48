"""Experiment (not course code): does an auxiliary classifier (AC-GAN, Odena et al. 2017) lift lesson 07's cGAN to
90% requested-class accuracy within the benchmark's 8 minutes of compute? Validation split, 300 per class."""

import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
from course_utils import load_dataset, seed_everything
from course_utils.batches import TensorBatches
from course_utils.judge import judge_samples, reference_classifier
from course_utils.models import conditional
from course_utils.models.dcgan import init_weights
from course_utils.models.gan import discriminator_loss, generator_loss

variant = sys.argv[1]
budget = float(sys.argv[2])
aux_w = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
C = 16
seed_everything(0)
train = load_dataset("fashion-mnist", "train")
val = load_dataset("fashion-mnist", "validation")
judge = reference_classifier("fashion-mnist")
G = conditional.ConditionalGenerator(noise_dim=64, channels=C)
cond = "projection" if variant.startswith("proj") else "channels"
if variant == "ac":  # unconditional source head + class head on image-only features
    D = conditional.ConditionalDiscriminator(channels=C, conditioning="projection")
    D.embed = None
else:
    D = conditional.ConditionalDiscriminator(channels=C, conditioning=cond)
use_aux = variant in ("ac", "proj_ac", "chan_ac")
if (
    variant == "chan_ac"
):  # separate image-only feature path would be needed; use features of channels D with zero label planes? skip
    raise SystemExit("unsupported")
classify = nn.Linear(2 * C * 7 * 7, 10)
init_weights(classify)
params = list(D.parameters()) + (list(classify.parameters()) if use_aux else [])
g_opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
d_opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
batches = TensorBatches(
    train.images * 2 - 1, train.labels, batch_size=64, device="cpu", drop_last=True, seed=0
)


def d_out(x, y):
    if variant == "ac":
        h = D.features(x)
        return D.head(h), classify(h)
    if variant == "proj_ac":
        h = D.features(x)
        return D.head(h) + (D.embed(y) * h).sum(1, keepdim=True), classify(h)
    return D(x, y), None


def evaluate(step):
    G.eval()
    accs = []
    with torch.no_grad():
        for k in range(10):
            torch.manual_seed(1000 + k)
            s = conditional.sample_class(G, k, 300)
            accs.append(judge_samples(s, model=judge)["class_counts"][k] / 300)
    G.train()
    return accs


log = []
steps, cpu0 = 0, time.process_time()
checkpoints = [int(x) for x in sys.argv[4].split(",")] if len(sys.argv) > 4 else [6000, 12000]
done = False
while not done:
    for real, y in batches:
        z = torch.randn(len(real), 64)
        fake = G(z, y)
        rl, rc = d_out(real, y)
        fl, _ = d_out(fake.detach(), y)
        d_loss = discriminator_loss(rl, fl) + (aux_w * F.cross_entropy(rc, y) if use_aux else 0)
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        gl, gc = d_out(fake, y)
        g_loss = generator_loss(gl) + (aux_w * F.cross_entropy(gc, y) if use_aux else 0)
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        steps += 1
        spent = time.process_time() - cpu0
        if steps in checkpoints or spent >= budget:
            a = evaluate(steps)
            row = {
                "steps": steps,
                "cpu": round(spent, 1),
                "acc": round(sum(a) / 10, 4),
                "per_class": [round(v, 3) for v in a],
            }
            print(json.dumps(row), flush=True)
            log.append(row)
            cpu0 += time.process_time() - cpu0 - spent  # exclude eval time
        if spent >= budget:
            done = True
            break
json.dump(log, open(f"/tmp/cgan_{variant}_{aux_w}.json", "w"))
