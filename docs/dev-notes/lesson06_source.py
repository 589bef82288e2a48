# %% md
# # 06 · Wasserstein GANs and the gradient penalty
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/genmodels-course/generative-models-step-by-step/blob/main/notebooks/06_wasserstein_gans.ipynb)
#
# Lessons 04 and 05 trained GANs whose losses hover, whose samples can hop from mode to mode, and whose
# discriminator, when it gets too good, stops teaching the generator. This lesson shows *why*, and what the field
# did about it: replace the discriminator's real/fake classification by a **critic** that measures the
# **earth mover's (Wasserstein-1) distance**, and keep that critic smooth with a **gradient penalty**.
#
# **In this lesson you will**
# - see, on 1-D data you can check by hand, why the Jensen–Shannon divergence behind the BCE GAN gives no useful
#   gradient when real and generated data barely overlap, and how a near-perfect discriminator starves or misleads
#   the generator;
# - compute the Wasserstein-1 distance of two 1-D samples exactly (sort, pair, average) and compare it with the JSD
#   on shifted distributions;
# - write the critic's and the generator's Wasserstein losses (Kantorovich–Rubinstein duality: a 1-Lipschitz critic
#   instead of a classifier);
# - see why **weight clipping** (Arjovsky et al., 2017) fails: a critic too simple to see the data, and gradients
#   that explode or vanish through the layers;
# - write the **gradient penalty** (Gulrajani et al., 2017) and a WGAN-GP training step with 5 critic steps per
#   generator step, and train it on the ring of 8 Gaussians; compare with **spectral normalization** (Miyato et al.,
#   2018);
# - train a WGAN-GP on Fashion-MNIST with lesson 05's convolutional networks and see that its critic's loss tracks
#   sample quality, unlike the BCE GAN's losses.
#
# **You need:** lesson 04 (the GAN game, $D^*$ and the JSD, the ring of Gaussians). Lesson 05 (the DCGAN) helps.
#
# **Time:** about 60 minutes of reading and exercises. Compute on a 2-core CPU: TIME_FULL in full mode, once the
# reference classifier of lesson 01 exists (if it does not, it is trained once first, about 3 minutes). Fast mode
# (as CI runs it): TIME_FAST. On a Colab GPU, estimated (not measured): about 2 minutes.

# %% setup
# Setup: works in a checkout of the course, in JupyterLab, and on Colab (it installs the course package there).
import importlib.util
import subprocess
import sys
from pathlib import Path

COURSE_PACKAGE = "git+https://github.com/genmodels-course/generative-models-step-by-step@main"
if importlib.util.find_spec("course_utils") is None:
    if Path("../course_utils").is_dir():  # a checkout of the course, not installed with pip
        sys.path.insert(0, str(Path("..").resolve()))
    else:  # Colab or another fresh Python: install the course package from GitHub
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE_PACKAGE], check=True)

import course_utils

device = course_utils.setup(seed=0)

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import check, load_dataset, show_images
from course_utils.exercises import ExerciseFailed
from course_utils.judge import classifier_features, judge_samples
from course_utils.live import LiveView
from course_utils.metrics import frechet_distance
from course_utils.models import dcgan, gan, wgan
from course_utils.plots import LINE_COLORS
from course_utils.toy_data import nearest_mode, plane_grid, ring_of_gaussians

b = course_utils.budget(
    d_steps=(1000, 200),
    clip_steps=(600, 100),
    ring_steps=(1500, 200),
    wgan_image_steps=(800, 8),
    dcgan_image_steps=(1600, 16),
    train_images=(None, 2000),
    fd_samples=(1000, 200),
)

# %% md
# ## 1. When the discriminator is too good
#
# Lesson 04 (section 7) showed that against the best discriminator $D^*$ the generator minimises the
# **Jensen–Shannon divergence** $\mathrm{JSD}(p_\text{data}\,\|\,p_g)$. The JSD compares the two densities *point by
# point*: wherever one of them is 0 and the other is not, the points count fully, however far away they are. So when
# the two distributions barely overlap — early in training, or always for images, which fill thin sheets of pixel
# space (Arjovsky & Bottou, 2017) — the JSD is stuck at its maximum, $\log 2$, whether the fakes are a little off or
# far off. A divergence that does not change as the generator moves gives the generator no direction.
#
# The simplest case: real data $\mathcal N(0, 0.1^2)$ in one dimension, and a "generator" that makes
# $\mathcal N(\theta, 0.1^2)$, the same bump shifted by $\theta$. Compute the JSD of the two densities numerically on
# a fine grid, for shifts from 0 to 3:

# %%
sigma = 0.1
grid_1d = torch.linspace(-2.0, 5.0, 20001, dtype=torch.float64)
step_1d = float(grid_1d[1] - grid_1d[0])


def normal_density(x, mean, std):
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def jensen_shannon(p, q):
    """JSD(p ‖ q) of two densities given on grid_1d: ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q) / 2 (a Riemann sum)."""
    m = (p + q) / 2
    kl_p = torch.where(p > 0, p * torch.log(p / m), torch.zeros_like(p)).sum() * step_1d
    kl_q = torch.where(q > 0, q * torch.log(q / m), torch.zeros_like(q)).sum() * step_1d
    return float(0.5 * kl_p + 0.5 * kl_q)


p_real = normal_density(grid_1d, 0.0, sigma)
shifts = torch.linspace(0.0, 3.0, 121)
js_curve = [jensen_shannon(p_real, normal_density(grid_1d, float(t), sigma)) for t in shifts]

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].plot(grid_1d, p_real, color="0.3", label="real: N(0, 0.1²)")
for color, t in zip(LINE_COLORS[1:], (0.2, 1.0, 2.0)):
    axes[0].plot(grid_1d, normal_density(grid_1d, t, sigma), color=color, label=f"fake: θ = {t}")
axes[0].set(xlim=(-0.6, 2.6), xlabel="x", ylabel="density", title="Real data and shifted fakes")
axes[0].legend(frameon=False, fontsize=8)
axes[1].plot(shifts, js_curve, color=LINE_COLORS[0], label="JSD (numerical)")
axes[1].axhline(math.log(2), color="0.5", linestyle="--", label="log 2")
axes[1].set(xlabel="shift θ of the fakes", ylabel="JSD (nats)", title="Jensen–Shannon divergence vs shift")
axes[1].legend(frameon=False)
for ax in axes:
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()
for t in (0.1, 0.25, 0.5, 1.0, 2.0):
    i = int(torch.argmin((shifts - t).abs()))
    print(f"θ = {t:4}: JSD = {js_curve[i]:.6f}   (log 2 = {math.log(2):.6f})")
slope = (js_curve[-1] - js_curve[-41]) / float(shifts[-1] - shifts[-41])
print(f"Slope of the JSD between θ = 2 and θ = 3: {slope:.2e} per unit of θ")

# %% md
# **What you should see:** the JSD climbs from 0 and is at $\log 2 \approx 0.693$ to six decimals once the bumps stop
# overlapping (about θ = 0.5, five standard deviations); from θ = 2 to θ = 3 it does not change at all (slope 0 to
# printing precision). A generator at θ = 2 and one at θ = 3 are equally bad to the JSD.
#
# **What the generator actually gets.** A trained discriminator is not exactly $D^*$, and the generator never sees
# the JSD itself: it sees the gradient of its loss through D. So make the experiment real: the generator is
# $G(z) = \theta + 0.1\,z$ with one parameter, $\theta = 2$; train lesson 04's discriminator (two hidden layers of
# 64) to tell real from fake, and every few steps measure the gradient on $\theta$ of both generator losses of
# lesson 04 — the minimax $\log(1 - D(G(z)))$ and the non-saturating $-\log D(G(z))$ — as D gets better.

# %%
real_1d = sigma * torch.randn(2000, 1, generator=torch.Generator().manual_seed(0))
theta = torch.tensor(2.0, requires_grad=True)  # the whole generator: G(z) = θ + 0.1 z


def fakes_1d(n):
    return theta + sigma * torch.randn(n, 1)


torch.manual_seed(0)
discriminator_1d = gan.Discriminator(data_shape=(1,), hidden=(64, 64))
d_optimizer = torch.optim.Adam(discriminator_1d.parameters(), lr=1e-3, betas=(0.5, 0.999))
d_record = {"step": [], "minimax": [], "non-saturating": [], "D(G(z))": []}
for step in range(1, b.d_steps + 1):
    real_batch = real_1d[torch.randint(len(real_1d), (256,))]
    d_loss = gan.discriminator_loss(discriminator_1d(real_batch), discriminator_1d(fakes_1d(256).detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    if step == 1 or step % 20 == 0:
        logits = discriminator_1d(fakes_1d(2000))
        (minimax,) = torch.autograd.grad(F.logsigmoid(-logits).mean(), theta, retain_graph=True)  # log(1 − D)
        (non_saturating,) = torch.autograd.grad(-F.logsigmoid(logits).mean(), theta)  # −log D
        d_record["step"].append(step)
        d_record["minimax"].append(abs(float(minimax)))
        d_record["non-saturating"].append(abs(float(non_saturating)))
        d_record["D(G(z))"].append(float(torch.sigmoid(logits).mean()))

for name in ("minimax", "non-saturating", "D(G(z))"):
    print(f"{name:>15}: step {d_record['step'][0]:>4}: {d_record[name][0]:.2e} → step {d_record['step'][-1]}: "
          f"{d_record[name][-1]:.2e}")  # fmt: skip

# %% md
# **What you should see** (full mode, 1,000 steps): D(G(z)) falls by orders of magnitude (FILL_D). The minimax
# loss's gradient on θ falls with it (FILL_MINIMAX): the better D gets, the less the generator learns — the
# vanishing gradient of lesson 04, now caused by D's *success*. The non-saturating loss does not vanish; its gradient
# **grows** instead (FILL_NS) — but its size is the steepness of D's logit at the fakes, which keeps growing as D
# grows surer, not the distance to the data: in the limit of a perfect D it is unbounded, and in practice it makes
# updates erratic (Arjovsky & Bottou, 2017). Neither number says "you are 2 away from the data". A figure of both
# curves follows in section 5, beside a critic's.
#
# ## 2. The earth mover's distance
#
# Think of each distribution as a pile of earth. The **Wasserstein-1** or **earth mover's distance** is the least
# work needed to reshape one pile into the other, where moving mass $m$ a distance $d$ costs $m \cdot d$:
#
# $$W_1(p, q) = \inf_{\gamma \in \Pi(p, q)} \mathbb E_{(x, y) \sim \gamma} \lVert x - y \rVert,$$
#
# the minimum over all *transport plans* $\gamma$ (joint distributions whose marginals are $p$ and $q$). Shift a
# bump by θ and $W_1 = |\theta|$: it grows with the distance, with slope 1, however little the bumps overlap.
#
# For two samples of $n$ points each in **one dimension**, the best plan is simple: pair the smallest point of one
# sample with the smallest of the other, the second smallest with the second smallest, and so on (any crossing pair
# of moves can be uncrossed without costing more). So
#
# $$W_1 = \frac1n \sum_{i=1}^n \big|a_{(i)} - b_{(i)}\big|,$$
#
# where $a_{(i)}$ is the $i$-th smallest value of $a$. In more dimensions there is no such shortcut (it becomes an
# assignment problem), which is why a GAN will *learn* the distance instead of computing it.
#
# ### Exercise 06.1 — the exact 1-D Wasserstein distance
# Write `wasserstein_1d(a, b)` for two 1-D tensors of the same length: sort both, pair them in order, and average
# the absolute differences. Return one number (a 0-dim tensor).

# %%
def wasserstein_1d(a, b):
    """Exact W1 between two 1-D samples of equal size: mean |sort(a) − sort(b)|."""
    ### BEGIN SOLUTION
    return (torch.sort(a).values - torch.sort(b).values).abs().mean()
    ### END SOLUTION

# %%
check.wasserstein_1d(wasserstein_1d)
### BEGIN HIDDEN TESTS
_a = torch.tensor([3.0, 1.0, 2.0])
assert torch.isclose(torch.as_tensor(wasserstein_1d(_a, torch.tensor([0.0, 0.0, 0.0]))).double(), torch.tensor(2.0).double())
### END HIDDEN TESTS

# %% md
# Now compare the two measures on the shifted bumps of section 1: the JSD (computed from the densities) and $W_1$,
# computed by your function from 2,000 samples of each. And one pair the JSD and a shift cannot tell apart: a
# narrow and a wide bump with the same centre, where $W_1 = |\sigma_1 - \sigma_2| \cdot \mathbb E|Z| =
# |\sigma_1 - \sigma_2|\sqrt{2/\pi}$ for Gaussians (the sorted samples are $\sigma_1 z_{(i)}$ and $\sigma_2 z_{(i)}$).

# %%
base_noise = torch.randn(2000, generator=torch.Generator().manual_seed(1))
real_sample = sigma * torch.randn(2000, generator=torch.Generator().manual_seed(2))
w1_curve = [float(wasserstein_1d(real_sample, float(t) + sigma * base_noise)) for t in shifts]

fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.plot(shifts, js_curve, color=LINE_COLORS[0], label="JSD (nats)")
ax.plot(shifts, w1_curve, color=LINE_COLORS[1], label="W1, your wasserstein_1d on samples")
ax.plot(shifts, shifts, color="0.4", linestyle=":", label="|θ|")
ax.axhline(math.log(2), color="0.5", linestyle="--", linewidth=0.8)
ax.set(xlabel="shift θ of the fakes", title="Two ways to measure how far the fakes are")
ax.grid(alpha=0.3)
ax.legend(frameon=False)
plt.tight_layout()
plt.show()
for t in (0.5, 1.0, 2.0):
    i = int(torch.argmin((shifts - t).abs()))
    print(f"θ = {t}: W1 from samples {w1_curve[i]:.3f}, JSD {js_curve[i]:.3f}")
wide = wasserstein_1d(real_sample, 1.0 * base_noise)
print(f"N(0, 0.1²) vs N(0, 1²): W1 from samples {float(wide):.3f}, exact 0.9·√(2/π) = {0.9 * math.sqrt(2 / math.pi):.3f}")

# %% md
# **What you should see:** $W_1$ follows the line $|\theta|$ (FILL_W1CURVE): it keeps growing where the JSD has been
# flat at $\log 2$ for a long time. A generator following $W_1$'s slope is pulled towards the data from any distance.
# The two bumps with the same centre and different widths are FILL_WIDE apart in $W_1$ (exact 0.718; the sample
# value differs by sampling noise).
#
# ## 3. A critic instead of a classifier
#
# $W_1$ has no shortcut in 784 dimensions, but it has a second form, the **Kantorovich–Rubinstein duality**:
#
# $$W_1(p_\text{data}, p_g) = \sup_{\lVert f \rVert_L \le 1} \; \mathbb E_{x \sim p_\text{data}}[f(x)] - \mathbb E_{x \sim p_g}[f(x)],$$
#
# the largest gap in mean score that any **1-Lipschitz** function $f$ can open between real and generated examples
# ($|f(x) - f(y)| \le \lVert x - y \rVert$: its slope is at most 1 everywhere). Arjovsky et al. (2017) train a
# network $f$ — the **critic** — to find that best $f$, and the generator to shrink the gap:
#
# - the critic minimises $L_f = \mathbb E[f(G(z))] - \mathbb E[f(x)]$ (score real examples high, fakes low); at its
#   best, $-L_f$ is the estimate of $W_1$;
# - the generator minimises $L_G = -\mathbb E[f(G(z))]$ (the only term it can change).
#
# The critic is lesson 04's discriminator *without* the sigmoid and without the cross-entropy: its output is a score,
# any real number, not a probability. Without the slope limit the critic could push the scores apart without bound,
# so the whole method rests on keeping $f$ 1-Lipschitz (sections 4 and 5).
#
# ### Exercise 06.2 — the critic's loss
# Write `critic_loss(real_scores, fake_scores)`: $\mathbb E[f(\text{fake})] - \mathbb E[f(\text{real})]$, from the
# critic's raw scores (N×1 each). One number.

# %%
def critic_loss(real_scores, fake_scores):
    """E[f(fake)] − E[f(real)]: the critic's Wasserstein loss, on raw scores."""
    ### BEGIN SOLUTION
    return fake_scores.mean() - real_scores.mean()
    ### END SOLUTION

# %%
check.critic_loss(critic_loss)

# %% md
# ### Exercise 06.3 — the generator's loss
# Write `wgan_generator_loss(fake_scores)`: $-\mathbb E[f(G(z))]$.

# %%
def wgan_generator_loss(fake_scores):
    """−E[f(G(z))]: the generator raises the critic's scores of its fakes."""
    ### BEGIN SOLUTION
    return -fake_scores.mean()
    ### END SOLUTION

# %%
check.wgan_generator_loss(wgan_generator_loss)

# %% md
# ## 4. Weight clipping, and why it fails
#
# Arjovsky et al. (2017) kept the critic Lipschitz the bluntest way: after every critic step, **clip** every weight
# to $[-c, c]$ (they used $c = 0.01$). A network with bounded weights has a bounded slope — but not slope *at most
# 1*, and not a slope that can be large where it should be. Gulrajani et al. (2017) showed two failures. Both are
# visible on the ring of 8 Gaussians, with a fixed cloud of "fakes" (a round Gaussian blob in the middle) so that
# only the critic trains.
#
# **Capacity.** Train lesson 04's 2-D critic (two hidden layers of 128) against the blob, once with clipping at
# $c = 0.01$, once with the gradient penalty of section 5 (it is written out there; the package's copy
# `wgan.gradient_penalty` stands in for now), for the same number of steps.

# %%
real_points = ring_of_gaussians(4000, modes=8, radius=2.0, std=0.05, seed=0)
blob = 0.6 * torch.randn(4000, 2, generator=torch.Generator().manual_seed(3))
xx, yy, plane = plane_grid(real_points, steps=100, margin=1.0)


def train_critic(critic, steps, clip=None, penalty=True, lr=1e-3):
    """Train a critic alone against the fixed blob; return its W1 estimate E f(ring) − E f(blob) at the end."""
    optimizer = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9))
    for _ in range(steps):
        real_batch, fake_batch = real_points[torch.randint(4000, (256,))], blob[torch.randint(4000, (256,))]
        loss = critic_loss(critic(real_batch), critic(fake_batch))
        if penalty:
            loss = loss + wgan.gradient_penalty(critic, real_batch, fake_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if clip is not None:
            with torch.no_grad():
                for parameter in critic.parameters():
                    parameter.clamp_(-clip, clip)
    with torch.no_grad():
        return float(critic(real_points).mean() - critic(blob).mean())


def draw_critic(critic, ax, title):
    with torch.no_grad():
        scores = critic(plane).view(xx.shape)
    scores = scores - scores.mean()
    limit = float(scores.abs().max())
    ax.contourf(xx, yy, scores, levels=21, cmap="RdBu", vmin=-limit, vmax=limit)
    ax.contour(xx, yy, scores, levels=11, colors="k", linewidths=0.3)
    ax.scatter(real_points[:400, 0], real_points[:400, 1], s=2, color="0.2")
    ax.scatter(blob[:300, 0], blob[:300, 1], s=2, color=LINE_COLORS[1])
    ax.set(xticks=[], yticks=[], title=title)
    ax.set_aspect("equal")


torch.manual_seed(0)
clipped_critic = wgan.point_critic(width=128)
clipped_estimate = train_critic(clipped_critic, b.clip_steps, clip=0.01, penalty=False)
torch.manual_seed(0)
penalised_critic = wgan.point_critic(width=128)
penalised_estimate = train_critic(penalised_critic, b.clip_steps)
fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
draw_critic(clipped_critic, axes[0], f"weight clipping, c = 0.01\nE f(real) − E f(fake) = {clipped_estimate:.4f}")
draw_critic(penalised_critic, axes[1], f"gradient penalty\nE f(real) − E f(fake) = {penalised_estimate:.3f}")
fig.suptitle("Critics trained against a fixed blob (orange); blue = high score, red = low")
plt.tight_layout()
plt.show()

# %% md
# **What you should see** (full mode, FILL_CLIPSTEPS steps): the clipped critic's scores change in FILL_CLIPSHAPE,
# and its gap between real and fake is FILL_CLIPEST — clipping at 0.01 limits the whole network's slope to far below
# 1, so its estimate is a badly scaled fraction of $W_1$, and the function it can afford is simple. The penalised
# critic's gap is FILL_GPEST, and its contours FILL_GPSHAPE. The penalty lets the critic have slope about 1 wherever
# it matters; clipping makes it a blunt instrument.
#
# **Exploding and vanishing gradients.** The second failure is in the layers. Clipping bounds each weight, so each
# layer multiplies the gradient flowing back by roughly a fixed factor — too large for a large $c$, too small for a
# small one — and in a deep critic these factors compound. Train a deeper critic (8 hidden layers of 64 ReLU units)
# with $c = 0.1, 0.01, 0.001$ and with the penalty, then measure the norm of the gradient of the critic's loss with
# respect to the output of each layer (Gulrajani et al., 2017, figure 1b).

# %%
def deep_critic():
    layers = [nn.Linear(2, 64), nn.ReLU()]
    for _ in range(7):
        layers += [nn.Linear(64, 64), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 1))


def layer_gradient_norms(critic):
    """‖∂L/∂h‖ for the output h of every Linear layer, input side first, on one batch of ring and blob points."""
    h = torch.cat([real_points[:512], blob[:512]])
    outputs = []
    for layer in critic:
        h = layer(h)
        if isinstance(layer, nn.Linear):
            h.retain_grad()
            outputs.append(h)
    critic_loss(h[:512], h[512:]).backward()
    return [float(out.grad.norm()) for out in outputs]


settings = {"clip c = 0.1": dict(clip=0.1, penalty=False), "clip c = 0.01": dict(clip=0.01, penalty=False),
            "clip c = 0.001": dict(clip=0.001, penalty=False), "gradient penalty": dict(penalty=True)}  # fmt: skip
fig, ax = plt.subplots(figsize=(7, 3.8))
for color, (name, options) in zip(LINE_COLORS, settings.items()):
    torch.manual_seed(0)
    critic = deep_critic()
    train_critic(critic, b.clip_steps // 2, **options)
    norms = layer_gradient_norms(critic)
    ax.plot(range(1, len(norms) + 1), norms, marker="o", color=color, label=name)
    print(f"{name:>16}: layer 1 {norms[0]:.1e} … layer {len(norms)} {norms[-1]:.1e}")
ax.set(yscale="log", xlabel="layer (1 = next to the input)", ylabel="gradient norm (log scale)",
       title="Gradient of the critic's loss at each layer's output")  # fmt: skip
ax.grid(alpha=0.3)
ax.legend(frameon=False, fontsize=8)
plt.tight_layout()
plt.show()

# %% md
# **What you should see** (full mode): FILL_LAYERS. With clipping the gradient changes by a roughly constant factor
# per layer, so across 9 layers it grows or shrinks by orders of magnitude, and no single $c$ is right for every
# layer and every stage of training; with the penalty it stays within FILL_GPRANGE. (Training uses this gradient: a
# critic whose first layers get $10^{-8}$ of it barely learns.)
#
# ## 5. The gradient penalty
#
# A differentiable function is 1-Lipschitz exactly when its gradient has norm at most 1 everywhere. Gulrajani et al.
# (2017) proved more: the optimal critic has gradient norm **exactly 1** almost everywhere on the straight lines
# between coupled real and generated points. So instead of clipping, add to the critic's loss a **penalty** on the
# gradient norm, at points on such lines:
#
# $$L_f = \mathbb E[f(\tilde x)] - \mathbb E[f(x)] + \lambda\, \mathbb E_{\hat x}\big[(\lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1)^2\big],
# \qquad \hat x = \alpha x + (1 - \alpha)\tilde x,\quad \alpha \sim U[0, 1],$$
#
# with $x$ real, $\tilde x = G(z)$ fake, and $\lambda = 10$. The details that matter:
#
# - **one α per example**, drawn uniformly in [0, 1]: each $\hat x$ is a random point on the segment between one real
#   example and one fake. A single α for the batch puts every $\hat x$ at the same fraction of the way; α from a normal
#   leaves the segment.
# - the gradient is taken with respect to $\hat x$, **per example**: $\nabla_{\hat x} \sum_i f(\hat x_i)$ gives each
#   $\hat x_i$ the gradient of its own score (the sum's other terms do not depend on it); flatten each example's
#   gradient and take its own norm.
# - `torch.autograd.grad(..., create_graph=True)`: the penalty is a function of a gradient, and its backward must go
#   through that gradient into the critic's weights (a "double backward"). Without `create_graph` the gradient is a
#   constant and the penalty does nothing.
# - **no batch norm in the critic**: batch norm makes each example's score depend on the rest of the batch, so the
#   per-example gradient is not what the penalty assumes. Use layer norm or no normalization.
# - Adam with learning rate $10^{-4}$ and $\beta = (0.5, 0.9)$ or $(0, 0.9)$, and $n_\text{critic} = 5$ critic steps
#   per generator step (Gulrajani et al., 2017).
#
# ### Exercise 06.4 — the gradient penalty
# Write `gradient_penalty(critic, real, fake, weight=10.0)`: draw one α per example (shape N×1 for points, N×1×1×1
# for images: `torch.rand(len(real), *[1] * (real.dim() - 1))`), make $\hat x$, let it require gradients, take
# $\nabla_{\hat x}$ of the summed scores with `create_graph=True`, and return `weight` × the mean over examples of
# $(\lVert \nabla \rVert_2 - 1)^2$.

# %%
def gradient_penalty(critic, real, fake, weight=10.0):
    """weight · mean over x̂ of (‖∇f(x̂)‖₂ − 1)², x̂ = α·real + (1 − α)·fake with one α ~ U[0, 1] per example."""
    ### BEGIN SOLUTION
    alpha = torch.rand(len(real), *[1] * (real.dim() - 1), device=real.device)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norms = grads.flatten(1).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()
    ### END SOLUTION

# %%
check.gradient_penalty(gradient_penalty)

# %% md
# Where the penalty looks: 12 real points, 12 fakes from the blob, the segments between the pairs, and one $\hat x$
# on each.

# %%
pairs = torch.Generator().manual_seed(4)
real_12, fake_12 = real_points[:12], blob[:12]
alpha_12 = torch.rand(12, 1, generator=pairs)
x_hat_12 = alpha_12 * real_12 + (1 - alpha_12) * fake_12
fig, ax = plt.subplots(figsize=(4.2, 4.2))
for r, f in zip(real_12, fake_12):
    ax.plot([r[0], f[0]], [r[1], f[1]], color="0.75", linewidth=0.8)
ax.scatter(real_12[:, 0], real_12[:, 1], color="0.2", s=14, label="real x")
ax.scatter(fake_12[:, 0], fake_12[:, 1], color=LINE_COLORS[1], s=14, label="fake G(z)")
ax.scatter(x_hat_12[:, 0], x_hat_12[:, 1], color=LINE_COLORS[0], s=22, marker="x", label="x̂ (penalised)")
ax.set(xticks=[], yticks=[], title="The penalty's points: one α per pair")
ax.set_aspect("equal")
ax.legend(frameon=False, fontsize=8, loc="lower left")
plt.show()

# %% md
# **The 1-D experiment again, with a critic.** Back to section 1: real data $\mathcal N(0, 0.1^2)$, fakes at
# $\theta = 2$. Train a critic (same network as the discriminator there) with your `critic_loss` and
# `gradient_penalty`, and measure the gradient on θ of your generator loss as it trains. By the duality, the critic's
# gap $\mathbb E f(\text{real}) - \mathbb E f(\text{fake})$ should approach $W_1$, which your `wasserstein_1d`
# computes exactly from the samples.

# %%
torch.manual_seed(0)
critic_1d = gan.Discriminator(data_shape=(1,), hidden=(64, 64))
c_optimizer = torch.optim.Adam(critic_1d.parameters(), lr=1e-3, betas=(0.5, 0.9))
c_record = {"step": [], "critic": [], "gap": []}
for step in range(1, b.d_steps + 1):
    real_batch, fake_batch = real_1d[torch.randint(len(real_1d), (256,))], fakes_1d(256).detach()
    loss = critic_loss(critic_1d(real_batch), critic_1d(fake_batch))
    loss = loss + gradient_penalty(critic_1d, real_batch, fake_batch)
    c_optimizer.zero_grad()
    loss.backward()
    c_optimizer.step()
    if step == 1 or step % 20 == 0:
        fake_eval = fakes_1d(2000)
        (g_critic,) = torch.autograd.grad(wgan_generator_loss(critic_1d(fake_eval)), theta)
        c_record["step"].append(step)
        c_record["critic"].append(abs(float(g_critic)))
        c_record["gap"].append(float(critic_1d(real_1d).mean() - critic_1d(fake_eval).mean()))

exact_w1 = float(wasserstein_1d(real_1d.squeeze(1), fakes_1d(2000).detach().squeeze(1)))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
axes[0].plot(d_record["step"], d_record["minimax"], color=LINE_COLORS[0], label="BCE, minimax log(1 − D)")
axes[0].plot(d_record["step"], d_record["non-saturating"], color=LINE_COLORS[1], label="BCE, non-saturating −log D")
axes[0].plot(c_record["step"], c_record["critic"], color=LINE_COLORS[2], label="critic, −E f(G(z))")
axes[0].set(yscale="log", xlabel="steps of D / critic training", ylabel="|gradient on θ|",
            title="What the generator at θ = 2 is told")  # fmt: skip
axes[1].plot(c_record["step"], c_record["gap"], color=LINE_COLORS[2], label="critic's gap E f(real) − E f(fake)")
axes[1].axhline(exact_w1, color="0.4", linestyle="--", label=f"exact W1 of the samples ({exact_w1:.3f})")
axes[1].set(xlabel="steps of critic training", title="The critic estimates W1")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
plt.tight_layout()
plt.show()
print(f"Critic after {b.d_steps} steps: gradient on θ {c_record['critic'][-1]:.3f}, gap {c_record['gap'][-1]:.3f}, "
      f"exact W1 {exact_w1:.3f}")  # fmt: skip

# %% md
# **What you should see** (full mode): the critic's gradient on θ settles at FILL_CGRAD — about 1, the slope of
# $W_1 = |\theta|$ — and stays there however long the critic trains, while the minimax gradient keeps falling and the
# non-saturating one keeps rising. The critic's gap climbs to FILL_GAP, close to the exact $W_1$ = FILL_EXACT. (It can
# overshoot a little: the penalty is a soft constraint, so the critic's slope may exceed 1 slightly.) The critic's
# number means something: it is a distance, in the units of the data.
#
# ## 6. The WGAN-GP training step
#
# One training step of WGAN-GP does **n_critic = 5 critic steps**, each on a fresh minibatch of real examples and
# fresh fakes (made without gradients: the critic step changes only the critic), then **one generator step**.
# Below, written out with your three functions; the course's loop hands it batches of $5 \times$ `batch_size` real
# examples, which it cuts into the 5 minibatches. It records the critic's loss, its $W_1$ estimate (the gap, without
# the penalty) and the penalty, averaged over the 5 critic steps, and the generator's loss. If one of your functions
# has not passed its check yet, the next cell uses the course's copy instead and says so.

# %%
losses = {"critic_loss": critic_loss, "wgan_generator_loss": wgan_generator_loss, "gradient_penalty": gradient_penalty}
reference = {"critic_loss": wgan.critic_loss, "wgan_generator_loss": wgan.generator_loss,
             "gradient_penalty": wgan.gradient_penalty}  # fmt: skip
for name, fn in losses.items():
    try:
        getattr(check, name)(fn)
    except ExerciseFailed:
        losses[name] = reference[name]
        print(f"Your {name} has not passed its check yet: the training below uses the course's.")


def wgan_step(generator, critic, real, g_optimizer, c_optimizer, n_critic=5):
    """n_critic critic steps (one per minibatch of `real`), then one generator step; returns the numbers."""
    numbers = {"critic_loss": 0.0, "wasserstein": 0.0, "penalty": 0.0}
    for batch in real.chunk(n_critic):
        with torch.no_grad():
            fake = generator(torch.randn(len(batch), generator.noise_dim, device=batch.device))
        loss = losses["critic_loss"](critic(batch), critic(fake))
        penalty = losses["gradient_penalty"](critic, batch, fake)
        c_optimizer.zero_grad()
        (loss + penalty).backward()
        c_optimizer.step()
        numbers["critic_loss"] += (loss + penalty).item() / n_critic
        numbers["wasserstein"] += -loss.item() / n_critic
        numbers["penalty"] += penalty.item() / n_critic

    z = torch.randn(len(real) // n_critic, generator.noise_dim, device=real.device)
    g_loss = losses["wgan_generator_loss"](critic(generator(z)))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {**numbers, "g_loss": g_loss.item()}

# %% md
# **On the ring.** Lesson 04's networks (the generator gets 8 noise numbers; the critic is lesson 04's discriminator,
# whose logit is now read as a score), lesson 04's batch size (256) and learning rate ($10^{-3}$), Adam with
# $\beta = (0.5, 0.9)$, FILL_RINGSTEPS generator steps — each with 5 critic steps. The shading is the critic's score
# (blue high, red low), drawn at 6 moments.

# %%
def mode_report(points):
    """How many of the 8 modes get at least 2% of the points, and the share of points on a mode (lesson 04)."""
    mode, on_mode = nearest_mode(points)
    counts = torch.bincount(mode[on_mode], minlength=8)
    return int((counts >= 0.02 * len(points)).sum()), float(on_mode.float().mean())


def train_on_ring(critic, steps, **options):
    """Train lesson 04's 2-D generator against `critic`; keep the critic's scores at 6 moments."""
    torch.manual_seed(0)
    generator = gan.point_gan(noise_dim=8, width=128)[0]
    surfaces = []

    def remember_critic(step, generator, critic):
        surfaces.append(critic(plane).view(xx.shape))

    run = wgan.train_wgan(generator, critic, real_points, steps=steps, batch_size=256, lr=1e-3,
                          fixed_noise=torch.randn(1000, 8, generator=torch.Generator().manual_seed(1)),
                          snapshot_every=max(steps // 5, 1), on_snapshot=remember_critic, log_every=25,
                          show_progress=False, **options)  # fmt: skip
    return generator, run, surfaces


def draw_ring_run(run, surfaces, title):
    fig, axes = plt.subplots(1, len(surfaces), figsize=(2.6 * len(surfaces), 3.0))
    for ax, (step, points), surface in zip(axes, run.snapshots, surfaces):
        surface = surface - surface.mean()
        limit = float(surface.abs().max())
        ax.contourf(xx, yy, surface, levels=21, cmap="RdBu", vmin=-limit, vmax=limit, alpha=0.7)
        ax.scatter(real_points[:500, 0], real_points[:500, 1], s=3, color="0.3")
        ax.scatter(points[:, 0], points[:, 1], s=3, color=LINE_COLORS[1])
        modes, share = mode_report(points)
        ax.set_title(f"step {step}\n{modes}/8 modes, {share:.0%} on a mode", fontsize=8)
        ax.set(xlim=(float(xx.min()), float(xx.max())), ylim=(float(yy.min()), float(yy.max())), xticks=[], yticks=[])
        ax.set_aspect("equal")
    fig.suptitle(title, y=1.04)
    plt.show()


torch.manual_seed(0)
ring_critic = wgan.point_critic(width=128)
start = time.perf_counter()
ring_generator, ring_run, ring_surfaces = train_on_ring(ring_critic, b.ring_steps, step_fn=wgan_step)
gp_seconds = time.perf_counter() - start
draw_ring_run(ring_run, ring_surfaces, "WGAN-GP on the ring of 8 Gaussians")
gp_modes, gp_share = mode_report(ring_generator.generate(2000, torch.Generator().manual_seed(7)))
print(f"{b.ring_steps} generator steps (×5 critic steps) in {gp_seconds:.1f} s. "
      f"Generated points: {gp_modes}/8 modes covered, {gp_share:.0%} of them on a mode.")  # fmt: skip
history = ring_run.history
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(history.steps["wasserstein"], history["wasserstein"], color=LINE_COLORS[2], label="critic's W1 estimate")
ax.plot(history.steps["penalty"], history["penalty"], color=LINE_COLORS[3], label="penalty")
ax.set(xlabel="generator step", title="The critic's numbers while training on the ring")
ax.grid(alpha=0.3)
ax.legend(frameon=False)
plt.tight_layout()
plt.show()

# %% md
# **What you should see** (full mode): FILL_RINGTEXT
#
# Over 5 seeds at these settings (`benchmarks/wgan_quality.py`, 3,000 generator steps), FILL_BENCHRING.
#
# ## 7. Spectral normalization, side by side
#
# The other common way to keep a critic Lipschitz (Miyato et al., 2018) changes the layers instead of the loss: divide
# each weight matrix $W$ by its largest singular value $\sigma(W)$, so that each linear layer stretches no vector by
# more than a factor 1; with 1-Lipschitz activations (LeakyReLU is) the whole network is then 1-Lipschitz.
# $\sigma(W)$ is estimated by one step of power iteration per forward pass, so it costs almost nothing — no double
# backward. PyTorch has it built in: `torch.nn.utils.parametrizations.spectral_norm(layer)`. Same ring, same steps,
# the same critic network with spectral normalization on both linear layers and **no** penalty:

# %%
torch.manual_seed(0)
sn_critic = gan.Discriminator(data_shape=(2,), hidden=(128, 128))
for layer in sn_critic.modules():
    if isinstance(layer, nn.Linear):
        nn.utils.parametrizations.spectral_norm(layer)
start = time.perf_counter()
sn_generator, sn_run, sn_surfaces = train_on_ring(sn_critic, b.ring_steps, gp_weight=0.0)
sn_seconds = time.perf_counter() - start
draw_ring_run(sn_run, sn_surfaces, "Spectral normalization (no penalty) on the ring")
sn_modes, sn_share = mode_report(sn_generator.generate(2000, torch.Generator().manual_seed(7)))
print(f"{'':22}{'modes':>7}{'on a mode':>11}{'seconds':>9}{'last W1 estimate':>18}")
for name, modes, share, seconds, run in (("gradient penalty", gp_modes, gp_share, gp_seconds, ring_run),
                                         ("spectral norm", sn_modes, sn_share, sn_seconds, sn_run)):  # fmt: skip
    print(f"{name:22}{modes:>5}/8{share:>11.0%}{seconds:>9.1f}{run.history['wasserstein'][-1]:>18.3f}")

# %% md
# **What you should see** (full mode): FILL_SNTEXT
#
# ## 8. WGAN-GP on Fashion-MNIST: a loss that means something
#
# Now lesson 05's convolutional networks: the DCGAN generator unchanged, and the discriminator as a critic with
# **layer norm instead of batch norm** (`dcgan.DCDiscriminator(norm="layer")`; section 5 says why). Adam
# $10^{-4}$, $\beta = (0.5, 0.9)$, batches of 64, $n_\text{critic} = 5$, your `wgan_step`. Every
# FILL_EVERY generator steps we ask the judge (lesson 01's classifier) for the Fréchet distance of FILL_FDN fresh
# samples to as many test images, and afterwards we train lesson 05's BCE DCGAN with the same judge watching, to
# compare what each one's losses say with what the judge says.

# %%
train = load_dataset("fashion-mnist", "train", limit=b.train_images)
real_images = train.images * 2 - 1  # [0, 1] → [−1, 1], the range of the generator's tanh
test_images = load_dataset("fashion-mnist", "test", verbose=False).images[: b.fd_samples]
test_features = classifier_features(test_images)
floor = frechet_distance(classifier_features(train.images[: b.fd_samples]), test_features)


def watch_frechet(curve):
    """An on_snapshot callback: the Fréchet distance of b.fd_samples fresh samples to the test images."""

    def on_snapshot(step, generator, critic):
        noise = torch.randn(b.fd_samples, generator.noise_dim, generator=torch.Generator().manual_seed(5))
        samples = generator(noise.to(next(generator.parameters()).device))
        curve.append((step, frechet_distance(classifier_features(samples), test_features)))

    return on_snapshot


fixed_noise = torch.randn(8, 64, generator=torch.Generator().manual_seed(2))
torch.manual_seed(0)
w_generator = dcgan.DCGenerator(noise_dim=64).to(device)
w_critic = dcgan.DCDiscriminator(norm="layer").to(device)
w_frechet = []
w_run = wgan.train_wgan(w_generator, w_critic, real_images, steps=b.wgan_image_steps, batch_size=64, lr=1e-4,
                        step_fn=wgan_step, fixed_noise=fixed_noise, snapshot_every=max(b.wgan_image_steps // 8, 1),
                        on_snapshot=watch_frechet(w_frechet), log_every=max(b.wgan_image_steps // 80, 1), live=LiveView("WGAN-GP on Fashion-MNIST"))  # fmt: skip
print(f"WGAN-GP: {w_run.steps} generator steps in {w_run.seconds:.0f} s ({w_run.seconds / w_run.steps * 1000:.0f} ms each, "
      "5 critic steps included)")  # fmt: skip

torch.manual_seed(0)
d_generator = dcgan.DCGenerator(noise_dim=64).to(device)
d_discriminator = dcgan.DCDiscriminator(norm="batch").to(device)
d_frechet = []
d_run = gan.train_gan(d_generator, d_discriminator, real_images, steps=b.dcgan_image_steps, batch_size=64, lr=2e-4,
                      fixed_noise=fixed_noise, snapshot_every=max(b.dcgan_image_steps // 8, 1),
                      on_snapshot=watch_frechet(d_frechet), log_every=max(b.dcgan_image_steps // 160, 1), live=LiveView("DCGAN (BCE) on Fashion-MNIST"))  # fmt: skip
print(f"DCGAN:   {d_run.steps} steps in {d_run.seconds:.0f} s ({d_run.seconds / d_run.steps * 1000:.0f} ms each)")
print(f"Real-vs-real floor of the Fréchet distance at N = {b.fd_samples}: {floor:.2f}")

# %%
def value_at(history, name, step):
    """The last recorded value of a series at or before `step` (the average of the steps just before it)."""
    steps = history.steps[name]
    index = max([i for i, s in enumerate(steps) if s <= step] or [0])
    return history[name][index]


def correlation(xs, ys):
    return float(torch.corrcoef(torch.tensor([xs, ys], dtype=torch.float64))[0, 1])


fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
wh, dh = w_run.history, d_run.history
axes[0].plot(wh.steps["wasserstein"], wh["wasserstein"], color=LINE_COLORS[2], label="critic's W1 estimate")
axes[1].plot(dh.steps["d_loss"], dh["d_loss"], color=LINE_COLORS[0], label="D loss")
axes[1].plot(dh.steps["g_loss"], dh["g_loss"], color=LINE_COLORS[1], label="G loss")
for ax, curve, title in ((axes[0], w_frechet, "WGAN-GP"), (axes[1], d_frechet, "DCGAN (BCE)")):
    twin = ax.twinx()
    twin.plot([s for s, _ in curve], [v for _, v in curve], color="k", marker="o", label="Fréchet distance (judge)")
    twin.set_ylabel("Fréchet distance")
    ax.set(xlabel="generator step", title=title)
    ax.grid(alpha=0.3)
    lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(lines, [line.get_label() for line in lines], frameon=False, fontsize=8)
plt.tight_layout()
plt.show()

after_start = [(s, v) for s, v in w_frechet if s > 0]
w_corr = correlation([value_at(wh, "wasserstein", s) for s, _ in after_start], [v for _, v in after_start])
after_start = [(s, v) for s, v in d_frechet if s > 0]
d_corr = correlation([value_at(dh, "d_loss", s) for s, _ in after_start], [v for _, v in after_start])
g_corr = correlation([value_at(dh, "g_loss", s) for s, _ in after_start], [v for _, v in after_start])
print("Correlation with the judge's Fréchet distance over the checkpoints after step 0:")
print(f"  WGAN-GP critic's W1 estimate: {w_corr:+.2f}")
print(f"  DCGAN D loss: {d_corr:+.2f} · G loss: {g_corr:+.2f}")
print(f"Fréchet distance at the end (N = {b.fd_samples}, floor {floor:.2f}): WGAN-GP {w_frechet[-1][1]:.1f} after "
      f"{w_run.steps} steps ({w_run.seconds:.0f} s), DCGAN {d_frechet[-1][1]:.1f} after {d_run.steps} steps "
      f"({d_run.seconds:.0f} s)")  # fmt: skip

# %% md
# **What you should see** (full mode): FILL_CURVES
#
# The samples of the WGAN-GP, from the same 8 noise vectors over training, and what the judge makes of 1,000 fresh
# ones:

# %%
grid = torch.cat([samples for _, samples in w_run.snapshots[:: max(len(w_run.snapshots) // 4, 1)]])
show_images(grid, ncols=8, title="WGAN-GP: the same 8 noise vectors over training (one row per moment)")
verdict = judge_samples(w_generator.generate(1000, torch.Generator().manual_seed(6)))
print(f"WGAN-GP, 1,000 samples: confidently classified {verdict['confident_share']:.0%} · classes produced "
      f"{verdict['classes_produced']}/10 · histogram entropy / log 10 {verdict['entropy_ratio']:.2f}")  # fmt: skip

# %% md
# **What you should see** (full mode): FILL_SAMPLES
#
# `benchmarks/wgan_quality.py` trains both for the same 10 minutes of compute and judges 5,000 samples of each:
# FILL_BENCHIMAGES
#
# ## Wrap-up
#
# **Key points**
# - Against the best discriminator the BCE GAN minimises the Jensen–Shannon divergence, which is stuck at $\log 2$
#   when real and generated data do not overlap: the minimax loss's gradient vanishes as D improves, and the
#   non-saturating loss's gradient grows with D's steepness instead of saying how far the data is.
# - The earth mover's distance $W_1$ grows with the distance between the distributions. In 1-D it is exact and easy:
#   sort both samples, pair them in order, average the absolute differences.
# - Kantorovich–Rubinstein: $W_1$ is the largest gap $\mathbb E f(\text{real}) - \mathbb E f(\text{fake})$ over
#   1-Lipschitz critics $f$. Critic loss $\mathbb E f(\text{fake}) - \mathbb E f(\text{real})$, generator loss
#   $-\mathbb E f(G(z))$: raw scores, no sigmoid, no log.
# - Weight clipping bounds the slope crudely: a too-simple critic, and gradients that explode or vanish through the
#   layers. The gradient penalty $\lambda(\lVert\nabla f(\hat x)\rVert_2 - 1)^2$ at $\hat x$ between real and fake
#   (one α per example, `create_graph=True`, λ = 10, no batch norm in the critic) works; spectral normalization is the
#   cheap alternative.
# - WGAN-GP pays 5 critic steps (each with a double backward) per generator step; in return its critic's estimate is
#   a number worth reading while training.
#
# **Common mistakes**
# - One α for the whole batch, α from `torch.randn`, or one α per pixel.
# - Forgetting `create_graph=True`: the penalty's value is right, but it changes nothing.
# - Taking one gradient norm over the whole batch (or over the channels only) instead of one per example.
# - Batch norm in the critic; a sigmoid on the critic's output; BCE losses with a critic.
# - Reading the critic's estimate across *different* critics or runs: it is a distance only up to how well the
#   critic is trained and how Lipschitz it is.
#
# **Further reading**
# - M. Arjovsky, L. Bottou (2017). *Towards Principled Methods for Training Generative Adversarial Networks.* ICLR —
#   why the JSD saturates on distributions with disjoint supports, and the unstable non-saturating gradient.
# - M. Arjovsky, S. Chintala, L. Bottou (2017). *Wasserstein Generative Adversarial Networks.* ICML — the critic,
#   the duality, weight clipping.
# - I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin, A. Courville (2017). *Improved Training of Wasserstein GANs.*
#   NeurIPS — the gradient penalty, λ = 10, n_critic = 5, Adam (1e-4, β = (0, 0.9)), no batch norm in the critic, and
#   the failures of clipping.
# - T. Miyato, T. Kataoka, M. Koyama, Y. Yoshida (2018). *Spectral Normalization for Generative Adversarial
#   Networks.* ICLR.
# - C. Villani (2008). *Optimal Transport: Old and New.* Springer — the Kantorovich–Rubinstein duality.
#
# **Try this**
# - Put `nn.BatchNorm1d` in the ring critic and train WGAN-GP again: what does the penalty measure now?
# - Train the ring with weight clipping (`wgan.train_wgan(..., gp_weight=0.0, clip=0.01)`).
# - In your `gradient_penalty`, draw one α for the whole batch and watch the ring run.
# - Use $n_\text{critic} = 1$: does the critic's estimate still track the Fréchet distance?
