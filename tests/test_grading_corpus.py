"""A corpus of submissions to lessons 05-11, graded by the course's grader in fast mode, as an instructor would.

Each submission is the instructor's notebook with some solution cells replaced (``CORPUS`` below):

- ``different``: right answers written another way, with local variables named like the course's imports
  (``gan``, ``conditional``, ``diffusion``, ``check``, ``diag``), the PyTorch DCGAN tutorial's ``weights_init``
  (``m.__class__.__name__``), ``nn.Identity()`` where batch norm is off, per-example squared norms: full marks and
  no flag;
- ``mistakes``: a typical mistake in every exercise: named in the feedback;
- ``empty``: the student version as handed out: 0, "not done yet", naming the function to write;
- ``cheats``: every exercise answered from the answer key, by a different route each (``sys.modules`` reached
  through torch, ``importlib``, ``__import__``, ``globals()``, ``vars()``, ``getattr``, an object's
  ``__module__``, a module held by another course module, the checker's own code, a reference taken when the
  cell runs): 0, with the reason naming what was used;
- ``builds_on`` (lessons 08 and 09): an earlier exercise wrong or not written, the next one right: the earlier one
  costs its own points only.

Every submission is graded in one call (one sandbox, PyTorch imported once), once per test session.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Dict, Tuple

import nbformat
import pytest

from course_instructor.grading import FAILED, FLAGGED, PASSED, PRACTICE, grade_notebooks
from course_instructor.integrity import ANSWER_KEY
from course_utils.exercise_layout import lesson_notebooks, read_notebook
from course_utils.exercises.core import CHECKERS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FLAGGED_START = f"0 points: your solution {ANSWER_KEY}: it "


def _called(target: str) -> str:
    return f"it called `{target}`"


# lesson -> submission -> exercise -> (the solution cell's source, or None to keep the instructor's;
#                                       expected status; a phrase the feedback must contain)
Expectation = Tuple[str, str, str]
CORPUS: Dict[str, Dict[str, Dict[str, Expectation]]] = {
    "05": {
        "different": {
            "05.1": (
                """def transposed_output_size(size, kernel, stride=1, padding=0):
    gan = (size - 1) * stride  # where the last patch starts
    return gan - 2 * padding + kernel""",
                PASSED,
                "passed",
            ),
            "05.2": (
                """def up_block(in_channels, out_channels):
    diag = nn.Sequential()
    diag.add_module("up", nn.ConvTranspose2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1))
    diag.add_module("norm", nn.BatchNorm2d(out_channels))
    diag.add_module("act", nn.ReLU(inplace=True))
    return diag""",
                PASSED,
                "passed",
            ),
            "05.3": (
                """def down_block(in_channels, out_channels, batch_norm=True):
    check = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
    conv = nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=not batch_norm)
    return nn.Sequential(conv, check, nn.LeakyReLU(0.2, inplace=True))""",
                PASSED,
                "passed",
            ),
            "05.4": (
                """def init_weights(m):
    # the PyTorch DCGAN tutorial's weights_init, with Linear layers and missing biases handled
    classname = m.__class__.__name__
    if classname.find("Conv") != -1 or classname.find("Linear") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
        if m.bias is not None:
            nn.init.constant_(m.bias.data, 0)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)""",
                PASSED,
                "passed",
            ),
            "05.5": (
                """def name_the_failures():
    conditional = ["no_batch_norm_in_g", "mode_collapse", "healthy", "sigmoid_before_logits_loss", "d_too_strong"]
    return dict(zip("abcde", conditional))""",
                PRACTICE,
                "ungraded practice (passed)",
            ),
        },
        "mistakes": {
            "05.1": (
                """def transposed_output_size(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) // stride + 1""",
                FAILED,
                "ordinary (downsampling) convolution",
            ),
            "05.2": (
                """def up_block(in_channels, out_channels):
    return nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1), nn.BatchNorm2d(out_channels),
                         nn.LeakyReLU(0.2))""",
                FAILED,
                "the generator uses a plain nn.ReLU",
            ),
            "05.3": (
                """def down_block(in_channels, out_channels, batch_norm=True):
    layers = [nn.Conv2d(in_channels, out_channels, 4, 2, 1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers, nn.LeakyReLU())""",
                FAILED,
                "negative_slope=0.01 (nn.LeakyReLU()'s default)",
            ),
            "05.4": (
                """def init_weights(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.2)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)""",
                FAILED,
                "ten times too large",
            ),
            "05.5": (
                """def name_the_failures():
    return {"A": "healthy", "B": "mode_collapse", "C": "no_batch_norm_in_g", "D": "sigmoid_before_logits_loss",
            "E": "d_too_strong"}""",
                PRACTICE,
                "3 of 5 right. run A is not 'healthy': such a run would show",
            ),
        },
        "cheats": {
            "05.1": (
                """def transposed_output_size(size, kernel, stride=1, padding=0):
    return torch.sys.modules["course" + "_utils.models.dcgan"].transposed_output_size(size, kernel, stride, padding)""",
                FLAGGED,
                _called("course_utils.models.dcgan.transposed_output_size"),
            ),
            "05.2": (
                """def up_block(in_channels, out_channels):
    return importlib.import_module("course_utils.models.dcgan").generator_block(in_channels, out_channels)""",
                FLAGGED,
                _called("course_utils.models.dcgan.generator_block"),
            ),
            "05.3": (
                """def down_block(in_channels, out_channels, batch_norm=True):
    build = getattr(dcgan, "discriminator" + "_block")
    return build(in_channels, out_channels, "batch" if batch_norm else "none")""",
                FLAGGED,
                _called("course_utils.models.dcgan.discriminator_block"),
            ),
            "05.4": (
                """def init_weights(module):
    sys.modules[gan.Generator.__module__.replace(".gan", ".dcgan")].init_weights(module)""",
                FLAGGED,
                _called("course_utils.models.dcgan.init_weights"),
            ),
            "05.5": (
                """def name_the_failures():
    return dict(diag._MYSTERY)""",
                PRACTICE,
                "it read `course_utils.gan_diagnostics._MYSTERY`",
            ),
        },
    },
    "06": {
        "different": {
            "06.1": (
                """def wasserstein_1d(a, b):
    conditional, diffusion = torch.sort(a)[0], torch.sort(b)[0]
    return torch.mean(torch.abs(conditional - diffusion))""",
                PASSED,
                "passed",
            ),
            "06.2": (
                """def critic_loss(real_scores, fake_scores):
    return torch.mean(fake_scores) - torch.mean(real_scores)""",
                PASSED,
                "passed",
            ),
            "06.3": (
                """def wgan_generator_loss(fake_scores):
    check = torch.mean(fake_scores)
    return -check""",
                PASSED,
                "passed",
            ),
            "06.4": (
                """def gradient_penalty(critic, real, fake, weight=10.0):
    gan = torch.rand([len(real)] + [1] * (real.dim() - 1), device=real.device)
    x_hat = (gan * real + (1 - gan) * fake).requires_grad_(True)
    scores = critic(x_hat)
    grads = torch.autograd.grad(outputs=scores, inputs=x_hat, grad_outputs=torch.ones_like(scores),
                                create_graph=True)[0]
    norms = grads.view(len(grads), -1).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()""",
                PASSED,
                "passed",
            ),
        },
        "mistakes": {
            "06.1": (
                """def wasserstein_1d(a, b):
    return (a - b).abs().mean()""",
                FAILED,
                "SORTED order",
            ),
            "06.2": (
                """def critic_loss(real_scores, fake_scores):
    return real_scores.mean() - fake_scores.mean()""",
                FAILED,
                "the sign is flipped",
            ),
            "06.3": (
                """def wgan_generator_loss(fake_scores):
    return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))""",
                FAILED,
                "lesson 04's non-saturating loss",
            ),
            "06.4": (
                """def gradient_penalty(critic, real, fake, weight=10.0):
    alpha = torch.rand(1).item()
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grads,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((grads.flatten(1).norm(2, dim=1) - 1) ** 2).mean()""",
                FAILED,
                "one α for the whole batch",
            ),
        },
        "cheats": {
            "06.1": (
                """def wasserstein_1d(a, b):
    return vars(wgan)["wasserstein_1d"](a, b)""",
                FLAGGED,
                _called("course_utils.models.wgan.wasserstein_1d"),
            ),
            "06.2": (
                """def critic_loss(real_scores, fake_scores):
    return globals()["wgan"].critic_loss(real_scores, fake_scores)""",
                FLAGGED,
                _called("course_utils.models.wgan.critic_loss"),
            ),
            "06.3": (
                """def wgan_generator_loss(fake_scores):
    return __import__("course_utils.models.wgan", fromlist=["x"]).generator_loss(fake_scores)""",
                FLAGGED,
                _called("course_utils.models.wgan.generator_loss"),
            ),
            "06.4": (
                """def gradient_penalty(critic, real, fake, weight=10.0):
    league = torch.sys.modules["course_utils.league"]  # a course module that holds the WGAN module
    return league.wgan.gradient_penalty(critic, real, fake, weight)""",
                FLAGGED,
                _called("course_utils.models.wgan.gradient_penalty"),
            ),
        },
    },
    "07": {
        "different": {
            "07.1": (
                """def generator_input(z, labels, num_classes=10):
    one_hot = torch.eye(num_classes, dtype=z.dtype, device=z.device)[labels]
    return torch.cat((z, one_hot), 1)""",
                PASSED,
                "passed",
            ),
            "07.2": (
                """def discriminator_input(images, labels, num_classes=10):
    n, _, h, w = images.shape
    planes = torch.zeros(n, num_classes, h, w, dtype=images.dtype, device=images.device)
    planes[torch.arange(n, device=labels.device), labels] = 1
    return torch.cat([images, planes], dim=1)""",
                PASSED,
                "passed",
            ),
            "07.3": (
                """def sample_class(generator, label, n):
    gan, check, diag = None, 1, "unused"  # local names like the course's imports
    conditional = generator
    device = next(conditional.parameters()).device
    conditional.eval()
    with torch.no_grad():
        z = torch.randn(n, conditional.noise_dim, device=device)
        return conditional(z, torch.full((n,), label, dtype=torch.long, device=device))""",
                PASSED,
                "passed",
            ),
            "07.4": (
                """def steering_step(z, generator, classifier, target, step_size):
    z = z.clone().detach().requires_grad_()
    logits = classifier((generator(z) + 1) / 2)
    wanted = torch.full((len(z),), target, dtype=torch.long)
    (-F.cross_entropy(logits, wanted, reduction="sum")).backward()  # the sum of log p(target | x)
    with torch.no_grad():
        return z + step_size * z.grad""",
                PASSED,
                "passed",
            ),
        },
        "mistakes": {
            "07.1": (
                """def generator_input(z, labels, num_classes=10):
    return torch.cat([z, labels[:, None].to(z)], dim=1)""",
                FAILED,
                "you appended the class index as one number",
            ),
            "07.2": (
                """def discriminator_input(images, labels, num_classes=10):
    return torch.cat([images.flatten(1), F.one_hot(labels, num_classes).to(images)], dim=1)""",
                FAILED,
                "the input of a fully connected D",
            ),
            "07.3": (
                """def sample_class(generator, label, n):
    with torch.no_grad():
        return generator(torch.randn(n, generator.noise_dim), torch.full((n,), label, dtype=torch.long))""",
                FAILED,
                "ran the generator in training mode",
            ),
            "07.4": (
                """def steering_step(z, generator, classifier, target, step_size):
    z = z.detach().clone().requires_grad_(True)
    log_probs = classifier((generator(z) + 1) / 2).log_softmax(dim=1)
    (grad,) = torch.autograd.grad(log_probs[:, target].mean(), z)
    return (z + step_size * grad).detach()""",
                FAILED,
                "over the batch, so each z's step shrinks with the batch size",
            ),
        },
        "cheats": {
            "07.1": (
                """def generator_input(z, labels, num_classes=10):
    return torch.sys.modules["course" + "_utils.models.conditional"].generator_input(z, labels, num_classes)""",
                FLAGGED,
                _called("course_utils.models.conditional.generator_input"),
            ),
            "07.2": (
                """_answer = conditional.discriminator_input  # taken when the cell runs


def discriminator_input(images, labels, num_classes=10):
    return _answer(images, labels, num_classes)""",
                FLAGGED,
                "it read `course_utils.models.conditional.discriminator_input`",
            ),
            "07.3": (
                """def sample_class(generator, label, n):
    return conditional.sample_class(generator, label, n)""",
                FLAGGED,
                _called("course_utils.models.conditional.sample_class"),
            ),
            "07.4": (
                """def steering_step(z, generator, classifier, target, step_size):
    return torch.sys.modules["course" + "_utils.models.conditional"].steering_step(
        z, generator, classifier, target, step_size
    )""",
                FLAGGED,
                _called("course_utils.models.conditional.steering_step"),
            ),
        },
    },
    "08": {
        "different": {
            "08.1": (
                """def matrix_sqrt(cov):
    vals, vecs = torch.linalg.eigh(cov)
    diag = torch.diag(vals.clamp(min=0).sqrt())
    return vecs @ diag @ vecs.T""",
                PASSED,
                "passed",
            ),
            "08.2": (
                """def frechet_distance(features_a, features_b):
    check = ((features_a.mean(0) - features_b.mean(0)) ** 2).sum()
    cov_a, cov_b = torch.cov(features_a.T), torch.cov(features_b.T)
    root_a = matrix_sqrt(cov_a)
    cross = matrix_sqrt(root_a @ cov_b @ root_a)
    return check + torch.trace(cov_a) + torch.trace(cov_b) - 2 * torch.trace(cross)""",
                PASSED,
                "passed",
            ),
            "08.3": (
                """def knn_precision_recall(real, fake, k=3):
    def share(queries, centers):
        radii = torch.cdist(centers, centers).kthvalue(k + 1, dim=1).values
        return (torch.cdist(queries, centers) <= radii).any(dim=1).float().mean().item()

    return share(fake, real), share(real, fake)""",
                PASSED,
                "passed",
            ),
            "08.4": (
                """def memorization_ratio(samples, train, test):
    gan = train.flatten(1)
    to_train = lambda x: torch.cdist(x.flatten(1), gan).min(1)[0]
    return float(torch.median(to_train(samples)) / torch.median(to_train(test)))""",
                PASSED,
                "passed",
            ),
            "08.5": (
                """def league_answers():
    return {"q1": "B", "q2": "c", "q3": "a", "q4": "b", "q5": " d"}""",
                PRACTICE,
                "ungraded practice (passed)",
            ),
        },
        "mistakes": {
            "08.1": (
                """def matrix_sqrt(cov):
    return cov.sqrt()""",
                FAILED,
                "an element-wise cov.sqrt()",
            ),
            "08.2": (
                """def frechet_distance(features_a, features_b):
    cov_a, cov_b = torch.cov(features_a.T), torch.cov(features_b.T)
    root_a = matrix_sqrt(cov_a)
    trace_root = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    mean_term = ((features_a.mean(0) - features_b.mean(0)) ** 2).sum()
    return mean_term + cov_a.trace() + cov_b.trace() - trace_root""",
                FAILED,
                "the cross term needs a factor 2",
            ),
            "08.3": (
                """def knn_precision_recall(real, fake, k=3):
    def radii(points):
        return torch.cdist(points, points).topk(k + 1, dim=1, largest=False).values[:, k]

    def share_inside(queries, centers, r):
        return (torch.cdist(queries, centers) <= r[None, :]).any(dim=1).double().mean().item()

    return share_inside(real, fake, radii(fake)), share_inside(fake, real, radii(real))""",
                FAILED,
                "precision and recall are swapped",
            ),
            "08.4": (
                """def memorization_ratio(samples, train, test):
    def nearest(images):
        return torch.cdist(images.flatten(1), train.flatten(1)).min(dim=1).values

    return (nearest(samples).mean() / nearest(test).mean()).item()""",
                FAILED,
                "use the median of the nearest distances, not the mean",
            ),
            "08.5": (
                """def league_answers():
    return {"q1": "a", "q2": "c", "q3": "a", "q4": "b", "q5": "d"}""",
                PRACTICE,
                "q1 (a): No: papers' FIDs use Inception-v3 features",
            ),
        },
        "cheats": {
            "08.1": (
                """def matrix_sqrt(cov):
    return torch.sys.modules["course_utils.exercises.lesson08"]._root(cov)""",
                FLAGGED,
                _called("course_utils.exercises.lesson08._root") + ", the checker's own code",
            ),
            "08.2": (
                """def frechet_distance(features_a, features_b):
    return metrics.frechet_distance(features_a, features_b)""",
                FLAGGED,
                _called("course_utils.metrics.frechet_distance"),
            ),
            "08.3": (
                """def knn_precision_recall(real, fake, k=3):
    scores = getattr(torch.sys.modules["course_utils.metrics"], "precision_recall")(real, fake, k)
    return scores["precision"], scores["recall"]""",
                FLAGGED,
                _called("course_utils.metrics.precision_recall"),
            ),
            "08.4": (
                """def memorization_ratio(samples, train, test):
    found = torch.sys.modules[league.__name__].memorization  # what the league table imported
    return found(samples, test)""",
                FLAGGED,
                _called("course_utils.metrics.memorization"),
            ),
            "08.5": (
                """def league_answers():
    questions = torch.sys.modules["course_utils.exercises.lesson08"].QUESTIONS
    return {q: right for q, (right, _) in questions.items()}""",
                PRACTICE,
                "it read `course_utils.exercises.lesson08.QUESTIONS`, the checker's own code",
            ),
        },
        "builds_on": {  # 08.2 calls matrix_sqrt: graded with the course's, so 08.1's mistake costs once
            "08.1": (
                """def matrix_sqrt(cov):
    return cov.abs().sqrt()""",
                FAILED,
                "took the square root of each entry",
            ),
            "08.2": (None, PASSED, "passed"),
        },
    },
    "09": {
        "different": {
            "09.1": (
                """def q_sample(x0, t, noise, alpha_bars):
    a = alpha_bars[t].view(-1, *([1] * (x0.dim() - 1)))
    return torch.sqrt(a) * x0 + torch.sqrt(1.0 - a) * noise""",
                PASSED,
                "passed",
            ),
            "09.2": (
                """def epsilon_loss(model, x0, alpha_bars):
    t = torch.randint(len(alpha_bars), (x0.shape[0],), device=x0.device)
    diffusion = torch.randn_like(x0)  # the noise mixed in, and the target
    x_t = q_sample(x0, t, diffusion, alpha_bars)
    return (model(x_t, t) - diffusion).pow(2).flatten(1).sum(dim=1).mean()  # ‖ε − ε_θ‖² per example""",
                PASSED,
                "passed",
            ),
            "09.3": (
                """def ancestral_step(model, x_t, t, betas, alpha_bars, z):
    beta, alpha_bar = betas[t], alpha_bars[t]
    eps = model(x_t, torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device))
    mean = (x_t - beta / torch.sqrt(1 - alpha_bar) * eps) * torch.rsqrt(1 - beta)
    return mean + (torch.sqrt(beta) * z if t > 0 else 0)""",
                PASSED,
                "passed",
            ),
            "09.4": (
                """def flow_matching_loss(model, x1):
    conditional = torch.randn_like(x1)  # the noise at t = 0
    t = torch.rand(x1.shape[0], device=x1.device)
    s = t.view(-1, *([1] * (x1.dim() - 1)))
    x_t = (1 - s) * conditional + s * x1
    return ((model(x_t, t) - (x1 - conditional)) ** 2).flatten(1).sum(1).mean()""",
                PASSED,
                "passed",
            ),
            "09.5": (
                """def euler_sample(model, x, steps):
    for t in torch.linspace(0, 1, steps + 1)[:-1]:
        x = x + model(x, t.repeat(len(x))) / steps
    return x""",
                PASSED,
                "passed",
            ),
        },
        "mistakes": {
            "09.1": (
                """def q_sample(x0, t, noise, alpha_bars):
    a = alpha_bars[t].reshape(-1, *[1] * (x0.dim() - 1))
    return a * x0 + (1 - a) * noise""",
                FAILED,
                "they are VARIANCES",
            ),
            "09.2": (  # right for points (N×2), which the checker uses; wrong for images: the hidden test says so
                """def epsilon_loss(model, x0, alpha_bars):
    t = torch.randint(0, len(alpha_bars), (len(x0),))
    noise = torch.randn_like(x0)
    a = alpha_bars[t][:, None]
    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t), noise)""",
                FAILED,
                "a hidden test then failed: AssertionError: epsilon_loss must work on images",
            ),
            "09.3": (
                """def ancestral_step(model, x_t, t, betas, alpha_bars, z):
    eps = model(x_t, torch.full((len(x_t),), t))
    return (x_t - betas[t] / (1 - alpha_bars[t]).sqrt() * eps) / (1 - betas[t]).sqrt()""",
                FAILED,
                "the fresh noise is missing",
            ),
            "09.4": (
                """def flow_matching_loss(model, x1):
    x0 = torch.randn_like(x1)
    t = torch.rand(len(x1))
    s = t.reshape(-1, *[1] * (x1.dim() - 1))
    return F.mse_loss(model((1 - s) * x0 + s * x1, t), x0 - x1)""",
                FAILED,
                "the velocity points the wrong way",
            ),
            "09.5": (
                """def euler_sample(model, x, steps):
    dt = 1.0 / steps
    for i in range(steps):
        x = x + dt * model(x, torch.full((len(x),), (i + 1) * dt))
    return x""",
                FAILED,
                "at the END of each step",
            ),
        },
        "cheats": {
            "09.1": (
                """def q_sample(x0, t, noise, alpha_bars):
    return diffusion.q_sample(x0, t, noise, alpha_bars)""",
                FLAGGED,
                _called("course_utils.models.diffusion.q_sample"),
            ),
            "09.2": (
                """def epsilon_loss(model, x0, alpha_bars):
    return importlib.import_module("course_utils.models.diffusion").epsilon_loss(model, x0, alpha_bars)""",
                FLAGGED,
                _called("course_utils.models.diffusion.epsilon_loss"),
            ),
            "09.3": (
                """def ancestral_step(model, x_t, t, betas, alpha_bars, z):
    models = getattr(torch.sys.modules["course_utils"], "models")
    return models.diffusion.ancestral_step(model, x_t, t, betas, alpha_bars, z)""",
                FLAGGED,
                _called("course_utils.models.diffusion.ancestral_step"),
            ),
            "09.4": (
                """def flow_matching_loss(model, x1):
    package = SmallUNet.__module__.rsplit(".", 1)[0]  # an object's module names the package
    return torch.sys.modules[package + ".flow_matching"].flow_matching_loss(model, x1)""",
                FLAGGED,
                _called("course_utils.models.flow_matching.flow_matching_loss"),
            ),
            "09.5": (
                """def euler_sample(model, x, steps):
    return flow_matching.euler_sample(model, x, steps)""",
                FLAGGED,
                _called("course_utils.models.flow_matching.euler_sample"),
            ),
        },
        "builds_on": {  # 09.2 calls q_sample: graded with the course's, so an unwritten 09.1 costs once
            "09.1": (
                '''def q_sample(x0, t, noise, alpha_bars):
    """x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · noise, with ᾱ_t = alpha_bars[t] for each example."""
    raise NotImplementedError("Exercise 09.1: write the body of q_sample here, then run the check cell below it.")''',
                FAILED,
                "not done yet: replace the `raise NotImplementedError` line in q_sample",
            ),
            "09.2": (None, PASSED, "passed"),
        },
    },
    "10": {
        "different": {
            "10.1": (
                """def from_epsilon(eps_hat, x_t, alpha_bar):
    guidance = torch.sqrt(1 - alpha_bar)  # the noise's standard deviation
    score = -eps_hat / guidance
    x0 = (x_t + guidance**2 * score) / torch.sqrt(alpha_bar)  # Tweedie's formula
    return {"score": score, "x0": x0, "v": torch.sqrt(alpha_bar) * eps_hat - guidance * x0}""",
                PASSED,
                "passed",
            ),
            "10.2": (
                """def diffusion_to_flow(eps_hat, x_t, alpha_bar):
    a, b = alpha_bar**0.5, (1 - alpha_bar) ** 0.5
    x_tau, tau = x_t / (a + b), a / (a + b)
    return x_tau, tau.flatten(), (x_tau - eps_hat) / tau""",
                PASSED,
                "passed",
            ),
            "10.3": (
                """def euler_step(velocity_fn, x, tau, tau_next):
    check = velocity_fn(x, tau * torch.ones(x.shape[0]))
    return x + check * (tau_next - tau)""",
                PASSED,
                "passed",
            ),
            "10.4": (
                """def drop_labels(labels, p_uncond, null_label):
    out = labels.clone()
    out[torch.bernoulli(torch.full(labels.shape, float(p_uncond))).bool()] = null_label
    return out""",
                PASSED,
                "passed",
            ),
            "10.5": (
                """def guided_prediction(conditional, unconditional, w):
    return conditional + w * (conditional - unconditional)""",
                PASSED,
                "passed",
            ),
            "10.6": (
                """def choose_guidance_scale(curve, min_accuracy):
    best = None
    for row in sorted(curve, key=lambda r: r["w"]):
        if row["accuracy"] >= min_accuracy and (best is None or row["recall"] > best["recall"]):
            best = row
    return None if best is None else best["w"]""",
                PASSED,
                "passed",
            ),
        },
        "mistakes": {
            "10.1": (
                """def from_epsilon(eps_hat, x_t, alpha_bar):
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    x0 = (x_t - b * eps_hat) / a
    return {"x0": x0, "v": a * eps_hat - b * x0, "score": -eps_hat / (1 - alpha_bar)}""",
                FAILED,
                "not its variance",
            ),
            "10.2": (
                """def diffusion_to_flow(eps_hat, x_t, alpha_bar):
    a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    return x_t / (a + b), alpha_bar, (x_t - b * eps_hat) / a - eps_hat""",
                FAILED,
                "τ is not ᾱ",
            ),
            "10.3": (
                """def euler_step(velocity_fn, x, tau, tau_next):
    return x + (tau_next - tau) * velocity_fn(x, torch.full((len(x),), tau_next))""",
                FAILED,
                "read at τ_next",
            ),
            "10.4": (
                """def drop_labels(labels, p_uncond, null_label):
    return torch.where(torch.rand(labels.shape) < p_uncond, torch.zeros_like(labels), labels)""",
                FAILED,
                "which is a real class",
            ),
            "10.5": (
                """def guided_prediction(conditional, unconditional, w):
    return w * conditional + (1 - w) * unconditional""",
                FAILED,
                "the other convention",
            ),
            "10.6": (
                """def choose_guidance_scale(curve, min_accuracy):
    return max(curve, key=lambda row: row["accuracy"])["w"]""",
                FAILED,
                "the most accurate w",
            ),
        },
        "cheats": {
            "10.1": (
                """def from_epsilon(eps_hat, x_t, alpha_bar):
    return guidance.from_epsilon(eps_hat, x_t, alpha_bar)""",
                FLAGGED,
                _called("course_utils.models.guidance.from_epsilon"),
            ),
            "10.2": (
                """def diffusion_to_flow(eps_hat, x_t, alpha_bar):
    return importlib.import_module("course_utils.models.guidance").diffusion_to_flow(eps_hat, x_t, alpha_bar)""",
                FLAGGED,
                _called("course_utils.models.guidance.diffusion_to_flow"),
            ),
            "10.3": (
                """def euler_step(velocity_fn, x, tau, tau_next):
    return getattr(torch.sys.modules["course_utils.models.guidance"], "euler_step")(velocity_fn, x, tau, tau_next)""",
                FLAGGED,
                _called("course_utils.models.guidance.euler_step"),
            ),
            "10.4": (
                """def drop_labels(labels, p_uncond, null_label):
    package = SmallUNet.__module__.rsplit(".", 1)[0]
    return torch.sys.modules[package + ".guidance"].drop_labels(labels, p_uncond, null_label)""",
                FLAGGED,
                _called("course_utils.models.guidance.drop_labels"),
            ),
            "10.5": (
                """def guided_prediction(conditional, unconditional, w):
    return vars(guidance)["guided_prediction"](conditional, unconditional, w)""",
                FLAGGED,
                _called("course_utils.models.guidance.guided_prediction"),
            ),
            "10.6": (
                """def choose_guidance_scale(curve, min_accuracy):
    return guidance.choose_guidance_scale(curve, min_accuracy)""",
                FLAGGED,
                _called("course_utils.models.guidance.choose_guidance_scale"),
            ),
        },
    },
    "11": {
        "different": {
            "11.1": (
                """def latent_scale(latents):
    check = latents.pow(2).mean().sqrt()  # the root mean square: unit second moment
    return (1 / check).item()""",
                PASSED,
                "passed",
            ),
            "11.3": (
                """def latent_flow_loss(velocity_net, encode, images, scale):
    z = encode(images).detach() * scale
    t = torch.rand(z.shape[0])  # the time first, then the noise
    noise = torch.randn(z.shape)
    latent = t[:, None, None, None]
    x_t = latent * z + (1 - latent) * noise
    return ((velocity_net(x_t, t) - (z - noise)) ** 2).sum()""",
                PASSED,
                "passed",
            ),
            "11.4": (
                """@torch.no_grad()
def generate(velocity_net, decode, scale, n, latent_shape, steps=25, generator=None):
    x = torch.randn((n,) + tuple(latent_shape), generator=generator)
    for k in range(steps):
        x = x + velocity_net(x, torch.ones(n) * k / steps) * (1 / steps)
    return decode(x * (1 / scale))""",
                PASSED,
                "passed",
            ),
            "11.2": (
                """def reconstruction_floor(reconstruct, images, reference_features, features, distance=None):
    guidance = features(reconstruct(images))
    return torch.tensor(distance(reference_features, guidance))""",
                PASSED,
                "passed",
            ),
            "11.5": (
                """def choose_latent_channels(curve, tolerance=0.1):
    best = min(r["frechet"] for r in curve)
    for row in sorted(curve, key=lambda r: r["channels"]):
        if row["frechet"] <= best * (1 + tolerance):
            return row["channels"]""",
                PASSED,
                "passed",
            ),
        },
        "mistakes": {
            "11.1": (
                """def latent_scale(latents):
    return float(latents.std())""",
                FAILED,
                "the standard deviation itself",
            ),
            "11.3": (
                """def latent_flow_loss(velocity_net, encode, images, scale):
    x1 = encode(images).detach()
    x0 = torch.randn_like(x1)
    t = torch.rand(len(x1))
    s = t.reshape(-1, 1, 1, 1)
    return F.mse_loss(velocity_net((1 - s) * x0 + s * x1, t), x1 - x0)""",
                FAILED,
                "forgot the scale",
            ),
            "11.4": (
                """@torch.no_grad()
def generate(velocity_net, decode, scale, n, latent_shape, steps=25, generator=None):
    x = torch.randn(n, *latent_shape, generator=generator)
    for i in range(steps):
        x = x + velocity_net(x, torch.full((n,), i / steps)) / steps
    return decode(x)""",
                FAILED,
                "divide by the scale before decoding",
            ),
            "11.2": (
                """def reconstruction_floor(reconstruct, images, reference_features, features, distance=None):
    return distance(features(images), reference_features)""",
                FAILED,
                "the data's own floor",
            ),
            "11.5": (
                """def choose_latent_channels(curve, tolerance=0.1):
    return min(curve, key=lambda row: row["floor"])["channels"]""",
                FAILED,
                "lowest reconstruction floor",
            ),
        },
        "cheats": {
            "11.1": (
                """def latent_scale(latents):
    return latent.latent_scale(latents)""",
                FLAGGED,
                _called("course_utils.models.latent.latent_scale"),
            ),
            "11.3": (
                """def latent_flow_loss(velocity_net, encode, images, scale):
    return importlib.import_module("course_utils.models.latent").latent_flow_loss(velocity_net, encode, images, scale)""",
                FLAGGED,
                _called("course_utils.models.latent.latent_flow_loss"),
            ),
            "11.4": (
                """def generate(velocity_net, decode, scale, n, latent_shape, steps=25, generator=None):
    return vars(latent)["generate"](velocity_net, decode, scale, n, latent_shape, steps, generator)""",
                FLAGGED,
                _called("course_utils.models.latent.generate"),
            ),
            "11.2": (
                """def reconstruction_floor(reconstruct, images, reference_features, features, distance=None):
    module = getattr(torch.sys.modules["course_utils.models"], "latent")
    return module.reconstruction_floor(reconstruct, images, reference_features, features, distance)""",
                FLAGGED,
                _called("course_utils.models.latent.reconstruction_floor"),
            ),
            "11.5": (
                """def choose_latent_channels(curve, tolerance=0.1):
    package = SmallUNet.__module__.rsplit(".", 1)[0]
    return torch.sys.modules[package + ".latent"].choose_latent_channels(curve, tolerance)""",
                FLAGGED,
                _called("course_utils.models.latent.choose_latent_channels"),
            ),
        },
    },
}


def lesson_path(lesson: str) -> Path:
    return next(p for p in lesson_notebooks(NOTEBOOKS) if p.name.startswith(f"{lesson}_"))


def solution_cell(nb, exercise_id: str):
    grade_id = f"ex{exercise_id.replace('.', '_')}_solution"
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def exercise_ids(lesson: str):
    return sorted(i for i in CHECKERS if i.startswith(f"{lesson}."))


def submission(lesson: str, changes: Dict[str, Expectation]):
    """The instructor's notebook of the lesson with the given solution cells replaced."""
    nb = copy.deepcopy(read_notebook(lesson_path(lesson)))
    for exercise_id, (source, _, _) in changes.items():
        if source is not None:
            solution_cell(nb, exercise_id).source = source
    return nb


def empty(lesson: str):
    """The student version as handed out: every solution replaced by its stub."""
    from course_utils.student_version import student_notebook

    return student_notebook(read_notebook(lesson_path(lesson)), lesson_path(lesson).name)


CASES = [(lesson, name) for lesson, submissions in CORPUS.items() for name in [*submissions, "empty"]]


def grade_corpus(folder: Path):
    """Write every submission of the corpus into ``folder`` and grade them all in one call: {case: report}."""
    paths = []
    for lesson, name in CASES:
        nb = empty(lesson) if name == "empty" else submission(lesson, CORPUS[lesson][name])
        path = folder / f"{lesson_path(lesson).stem}-{name}.ipynb"
        nbformat.write(nb, str(path))
        paths.append(path)
    return dict(zip(CASES, grade_notebooks(paths, fast=True)))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_corpus(tmp_path_factory.mktemp("corpus"))


def by_id(report):
    return {e.exercise_id: e for e in report.exercises}


@pytest.mark.parametrize("lesson, name", CASES, ids=[f"{lesson}-{name}" for lesson, name in CASES])
def test_every_exercise_gets_the_grade_and_the_reason_it_deserves(graded, lesson, name):
    report = graded[(lesson, name)]
    assert report.problems == [], report.problems
    grades = by_id(report)
    assert sorted(grades) == exercise_ids(lesson)
    if name == "empty":
        expected = {
            i: (PRACTICE if CHECKERS[i].practice else FAILED, f"in {CHECKERS[i].name} with your code")
            for i in grades
        }
    else:
        expected = {i: (status, phrase) for i, (_, status, phrase) in CORPUS[lesson][name].items()}
    for exercise_id, grade in grades.items():
        if exercise_id not in expected:  # kept as the instructor wrote it
            assert grade.status in (PASSED, PRACTICE) and not grade.flags, grade
            continue
        status, phrase = expected[exercise_id]
        assert grade.status == status, (exercise_id, grade.feedback)
        assert phrase in grade.feedback, (exercise_id, grade.feedback)
        if status == PASSED:
            assert grade.points == grade.max_points > 0 and not grade.flags
        else:
            assert grade.points == 0
        if status == FLAGGED:
            assert grade.feedback.startswith(FLAGGED_START), grade.feedback


@pytest.mark.parametrize("lesson", sorted(CORPUS))
def test_honest_answers_written_differently_get_full_marks_and_no_flag(graded, lesson):
    report = graded[(lesson, "different")]
    assert report.score == report.max_score > 0, report.to_markdown()
    assert all(not e.flags for e in report.exercises), report.to_markdown()


@pytest.mark.parametrize("lesson", sorted(CORPUS))
def test_every_cheat_scores_zero_with_the_reason(graded, lesson):
    report = graded[(lesson, "cheats")]
    assert report.score == 0, report.to_markdown()
    for e in report.exercises:
        assert e.flags and any(ANSWER_KEY in f for f in e.flags), e


def corpus_table(graded) -> str:
    """The corpus's scores as a Markdown table."""
    lines = ["| Submission | Score | Per exercise |", "|---|---:|---|"]
    for (lesson, name), report in graded.items():
        marks = ", ".join(f"{e.exercise_id} {e.status}" for e in report.exercises)
        lines.append(f"| {lesson} {name} | {report.score:g} / {report.max_score:g} | {marks} |")
    return "\n".join(lines)


if __name__ == "__main__":  # print the corpus's grades as a table: python tests/test_grading_corpus.py
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print(corpus_table(grade_corpus(Path(folder))))
