"""Checkers for lesson 07 (conditional and controllable generation).

07.1 ``generator_input(z, labels, num_classes)``         [z, one_hot(labels)]: N×(noise_dim + K), on z's device
07.2 ``discriminator_input(images, labels, num_classes)``  images with K label channels: N×(C + K)×H×W
07.3 ``sample_class(generator, label, n)``                 n images of one requested class, eval mode, no gradients
07.4 ``steering_step(z, generator, classifier, target, step_size)``
     z + step_size · ∇_z log p(target | (G(z) + 1) / 2), detached; log p is the classifier's log-softmax
     (classifier guidance's objective, Dhariwal & Nichol 2021); any form of it passes (log_softmax, logits minus
     their logsumexp, minus a summed cross-entropy, the log of the softmax)

The mistakes they name: the class index appended as a number instead of a one-hot vector, ``num_classes`` ignored
(hard-coded, or ``F.one_hot`` without it), the wrong concatenation axis or order, a one-hot made on the CPU while z
is on another device, label planes not spread over the image (N×K×1×1) or hard-coded to 28×28, the fully
connected D's input (flattened image + one-hot) where the convolutional one is asked for; labels of the wrong
dtype or shape, one noise vector shared by all samples, uniform noise, the generator left in training mode,
gradients kept; steering downhill, averaging over the batch, following the probability, or the raw logit (the
contrast the lesson draws, named as such) instead of log p(target | x), a log-softmax taken over the batch
instead of the classes, forgetting the [-1, 1] → [0, 1] mapping, a normalised gradient, the gradient returned
instead of the new z, and a result still attached to the graph.

Device mistakes are found with PyTorch's "meta" device, which stands in for a GPU on a machine that has none: the
tensors have shapes and a device but no values, and mixing them with CPU tensors fails as it would on a GPU.
"""

from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

from ..models import conditional
from .core import Mistake, call, close, exercise, expect_tensor, match_variants

META = torch.device("meta")
DEVICE_ADVICE = (
    "On a GPU every tensor in one operation must be on the same device: make the one-hot on the inputs' device "
    "(F.one_hot(labels, num_classes) does, since labels are there; or torch.zeros(..., device=z.device))"
)


def _device_trouble(exc: BaseException) -> bool:
    text = str(exc)
    return any(key in text for key in ("device", "meta", "Expected all tensors"))


def _run_on_meta(fn, args, what: str, advice: str = DEVICE_ADVICE):
    """Run the learner's function on 'meta' tensors (a stand-in for a GPU). Returns the result, or None when the
    code cannot run on meta tensors for a reason that has nothing to do with devices (e.g. it reads a value)."""
    try:
        return fn(*args)
    except NotImplementedError:
        return None
    except Exception as exc:
        if _device_trouble(exc) and "no data" not in str(exc) and "item" not in str(exc):
            raise Mistake(
                f"{what} fails when its inputs are on another device than the CPU (we tried PyTorch's 'meta' "
                f"device, which stands in for a GPU): {type(exc).__name__}: {exc}. {advice}."
            ) from None
        return None


# ----------------------------------------------------------------------------------------------------------------
# 07.1 generator_input
# ----------------------------------------------------------------------------------------------------------------


def generator_input_variants(z: torch.Tensor, labels: torch.Tensor, k: int) -> Dict[str, torch.Tensor]:
    one_hot = F.one_hot(labels, k).to(z)
    return {
        "right": conditional.generator_input(z, labels, k),
        "label_first": torch.cat([one_hot, z], dim=1),
        "index_column": torch.cat([z, labels[:, None].to(z)], dim=1),
        "one_hot_of_max": torch.cat([z, F.one_hot(labels).to(z)], dim=1),
        "ten_classes": torch.cat([z, F.one_hot(labels, 10).to(z)], dim=1),
    }


def _call_concatenation(fn, args, what: str, fix: str, axis_fix: str = ""):
    """Call the learner's function; a torch.cat of misfitting parts crashes with 'Sizes of tensors must match'.

    ``fix`` explains the crash; ``axis_fix``, when given, replaces it if the concatenation axis was not dim=1."""
    try:
        return fn(*args)
    except RuntimeError as exc:
        text = str(exc)
        if "Sizes of tensors must match" in text or "expand" in text:
            if axis_fix and "Sizes of tensors must match except in dimension 1" not in text:
                fix = axis_fix
            raise Mistake(f"{what} crashed: {text.rstrip('.')}. {fix}") from None
        return call(fn, *args, what=what)
    except Exception:
        return call(fn, *args, what=what)  # the usual report ("not done yet", or the error and the line)


@exercise("07.1", "generator_input", points=2)
def generator_input(fn) -> str:
    """Check ``generator_input(z, labels, num_classes)`` = torch.cat([z, one_hot(labels)], dim=1).

    Runs in a forked random state: checking does not change the random numbers the notebook draws next.
    """
    with torch.random.fork_rng():
        return _check_generator_input(fn)


def _check_generator_input(fn) -> str:
    gen = torch.Generator().manual_seed(0)
    cases = [(5, 3, torch.tensor([2, 0, 1, 0, 2]), 6), (4, 6, torch.tensor([1, 3, 0, 1]), 4)]
    for n, noise_dim, labels, k in cases:
        z = torch.randn(n, noise_dim, generator=gen)
        what = f"generator_input(z of shape {tuple(z.shape)}, labels {labels.tolist()}, num_classes={k})"
        fix = "Put the two side by side, one row per example: torch.cat([z, one_hot], dim=1) (dim=0 would stack them as extra rows)."
        out = expect_tensor(_call_concatenation(fn, (z.clone(), labels.clone(), k), what, fix), what)
        want = generator_input_variants(z, labels, k)
        if close(out, want["right"]):
            continue
        if close(out, want["label_first"]):
            raise Mistake(f"{what}: the one-hot label comes first; put the noise first, then the label: "
                          "torch.cat([z, one_hot], dim=1) (the generator's first layer expects that order).")  # fmt: skip
        if close(out, want["index_column"]):
            raise Mistake(
                f"{what}: you appended the class index as one number. A network would then read class 4 as "
                "'twice class 2'; classes have no order. Append a one-hot vector of length num_classes: "
                "F.one_hot(labels, num_classes)."
            )
        if close(out, want["one_hot_of_max"]) and not close(out, want["right"]):
            raise Mistake(
                f"{what}: F.one_hot(labels) without num_classes makes max(labels) + 1 columns, so the width "
                "changes with the batch (a batch without the last class is one column short). Pass num_classes."
            )
        if close(out, want["ten_classes"]):
            raise Mistake(f"{what}: the one-hot has 10 columns; use the num_classes argument ({k} here).")
        if out.dim() != 2 or out.shape[0] != n:
            raise Mistake(
                f"{what} returned shape {tuple(out.shape)}: concatenate along dim=1 (side by side, one row per "
                f"example), which gives N×(noise_dim + num_classes) = {tuple(want['right'].shape)}."
            )
        if tuple(out.shape) != tuple(want["right"].shape):
            raise Mistake(f"{what} returned shape {tuple(out.shape)}; expected {tuple(want['right'].shape)}, "
                          "N×(noise_dim + num_classes).")  # fmt: skip
        if close(out[:, :noise_dim], z):
            raise Mistake(
                f"{what}: the noise part is right but the label part is not a one-hot of the labels: row i "
                f"should have a 1 in column labels[i] and 0 elsewhere. Got {out[:, noise_dim:].tolist()}."
            )
        raise Mistake(f"{what}: the first noise_dim columns should be z unchanged, then the one-hot label.")
    z, labels = torch.zeros(3, 4, device=META), torch.tensor([0, 2, 1], device=META)
    _run_on_meta(fn, (z, labels, 3), "generator_input")
    return "noise first, then a one-hot label of num_classes columns, on the noise's device."


# ----------------------------------------------------------------------------------------------------------------
# 07.2 discriminator_input
# ----------------------------------------------------------------------------------------------------------------


def discriminator_input_variants(
    images: torch.Tensor, labels: torch.Tensor, k: int
) -> Dict[str, torch.Tensor]:
    n, _, h, w = images.shape
    one_hot = F.one_hot(labels, k).to(images)
    planes = one_hot[:, :, None, None].expand(n, k, h, w)
    return {
        "right": conditional.discriminator_input(images, labels, k),
        "label_first": torch.cat([planes, images], dim=1),
        "flat": torch.cat([images.flatten(1), one_hot], dim=1),
        "index_plane": torch.cat([images, labels[:, None, None, None].to(images).expand(n, 1, h, w)], dim=1),
    }


@exercise("07.2", "discriminator_input", points=2)
def discriminator_input(fn) -> str:
    """Check ``discriminator_input(images, labels, num_classes)``: images with K label channels, N×(C + K)×H×W.

    Runs in a forked random state: checking does not change the random numbers the notebook draws next.
    """
    with torch.random.fork_rng():
        return _check_discriminator_input(fn)


def _check_discriminator_input(fn) -> str:
    gen = torch.Generator().manual_seed(1)
    for n, c, h, w, k, labels in [
        (4, 1, 28, 28, 3, torch.tensor([2, 0, 1, 2])),
        (3, 2, 6, 5, 4, torch.tensor([3, 1, 0])),
    ]:
        images = torch.rand(n, c, h, w, generator=gen) * 2 - 1
        what = f"discriminator_input(images of shape {tuple(images.shape)}, labels {labels.tolist()}, num_classes={k})"
        fix = (
            "The label planes must have the images' height and width: make the one-hot N×K×1×1 "
            "(one_hot[:, :, None, None]) and .expand(N, K, H, W) it (or .repeat), with the images' own H and W, "
            "then torch.cat([images, planes], dim=1)."
        )
        axis_fix = "Concatenate along dim=1, the channels: torch.cat([images, planes], dim=1)."
        out = _call_concatenation(fn, (images.clone(), labels.clone(), k), what, fix, axis_fix)
        out = expect_tensor(out, what)
        want = discriminator_input_variants(images, labels, k)
        if close(out, want["right"]):
            continue
        if close(out, want["label_first"]):
            raise Mistake(f"{what}: the label channels come first; put the image channels first, then the K label "
                          "channels: torch.cat([images, planes], dim=1).")  # fmt: skip
        if close(out, want["flat"]):
            raise Mistake(
                f"{what}: this is the input of a fully connected D (the flattened image and the one-hot side by "
                "side). This D is convolutional: give it the label as K extra channels, each H×W, so that its "
                "first convolution sees the label at every pixel."
            )
        if close(out, want["index_plane"]):
            raise Mistake(f"{what}: you added one channel holding the class index. Classes have no order: use K "
                          "one-hot channels, channel k all ones when the label is k.")  # fmt: skip
        expected = tuple(want["right"].shape)
        if tuple(out.shape) != expected:
            raise Mistake(f"{what} returned shape {tuple(out.shape)}; expected {expected} = N×(C + K)×H×W "
                          "(concatenate along dim=1, the channels).")  # fmt: skip
        if close(out[:, :c], images):
            raise Mistake(f"{what}: the image channels are right, but the label channels are not one-hot planes: "
                          "channel C + k must be all ones for the examples whose label is k, and zeros elsewhere.")  # fmt: skip
        raise Mistake(
            f"{what}: the first C channels should be the images unchanged, then the K label planes."
        )
    images, labels = torch.zeros(2, 1, 4, 4, device=META), torch.tensor([1, 0], device=META)
    _run_on_meta(fn, (images, labels, 2), "discriminator_input")
    return (
        "the image, then one all-ones-or-zeros plane per class, as big as the image, on the image's device."
    )


# ----------------------------------------------------------------------------------------------------------------
# 07.3 sample_class
# ----------------------------------------------------------------------------------------------------------------


class SpyGenerator(nn.Module):
    """A stand-in conditional generator that records how it is called (noise, labels, mode, gradients)."""

    def __init__(self, noise_dim: int = 5, device: str = "cpu") -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.weight = nn.Parameter(torch.ones(1, device=device))
        self.calls = []

    def forward(self, z, labels):
        self.calls.append(
            {"z": z, "labels": labels, "training": self.training, "grad": torch.is_grad_enabled()}
        )
        n = len(z)
        return torch.tanh(self.weight * z.sum(dim=1)).reshape(n, 1, 1, 1).expand(n, 1, 28, 28)


@exercise("07.3", "sample_class", points=2)
def sample_class(fn) -> str:
    """Check ``sample_class(generator, label, n)``: n images of class ``label``, with fresh noise each.

    Runs in a forked random state: checking does not change the random numbers the notebook draws next.
    """
    with torch.random.fork_rng():
        return _check_sample_class(fn)


def _check_sample_class(fn) -> str:
    spy = SpyGenerator(noise_dim=5).train()
    what = "sample_class(generator, label=3, n=500)"
    out = call(fn, spy, 3, 500, what=what)
    if not spy.calls:
        raise Mistake(f"{what} never called the generator: return generator(z, labels).")
    record = spy.calls[-1]
    z, labels = record["z"], record["labels"]
    if not isinstance(labels, torch.Tensor):
        raise Mistake(f"{what} gave the generator labels of type {type(labels).__name__}: give it a tensor of class "
                      "indices, one per sample: torch.full((n,), label, dtype=torch.long).")  # fmt: skip
    if labels.dim() != 1 or len(labels) != 500:
        raise Mistake(f"{what} gave labels of shape {tuple(labels.shape)}: one class index per sample, shape (n,) = "
                      "(500,). torch.full((n,), label, dtype=torch.long).")  # fmt: skip
    if labels.dtype != torch.long:
        raise Mistake(f"{what} gave labels of dtype {labels.dtype}: class indices are whole numbers, "
                      "dtype=torch.long (F.one_hot and nn.Embedding need it).")  # fmt: skip
    if not bool((labels == 3).all()):
        raise Mistake(f"{what} asked for classes {sorted(set(labels.tolist()))[:5]}: every label should be the "
                      "requested class, 3.")  # fmt: skip
    if not isinstance(z, torch.Tensor) or tuple(z.shape) != (500, 5):
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise Mistake(
            f"{what} gave the generator noise of shape {got}; expected (n, generator.noise_dim) = (500, 5)."
        )
    if float(z.std(dim=0).mean()) < 1e-6:
        raise Mistake(f"{what}: all 500 samples got the same noise vector, so they are all the same image. Draw a "
                      "fresh z per sample: torch.randn(n, generator.noise_dim).")  # fmt: skip
    if abs(float(z.mean())) > 0.15 or abs(float(z.std()) - 1) > 0.15:
        raise Mistake(f"{what}: the noise has mean {float(z.mean()):.2f} and standard deviation {float(z.std()):.2f}; "
                      "the generator was trained on z ~ N(0, I): torch.randn, not torch.rand.")  # fmt: skip
    if record["training"]:
        raise Mistake(f"{what} ran the generator in training mode. Its batch norm would then normalise with this "
                      "batch's own statistics (a batch of one class, unlike training batches): call "
                      "generator.eval() first.")  # fmt: skip
    if record["grad"]:
        raise Mistake(f"{what} kept track of gradients: wrap the call in `with torch.no_grad():` (sampling needs "
                      "no gradients, and they cost memory).")  # fmt: skip
    out = expect_tensor(out, what, shape=(500, 1, 28, 28))
    if not close(out, spy(z, labels).detach()):
        raise Mistake(
            f"{what} should return the generator's images for that noise and those labels, unchanged."
        )
    meta_spy = SpyGenerator(noise_dim=5, device="meta")
    advice = "make the noise and the labels on the generator's device: device = next(generator.parameters()).device"
    _run_on_meta(fn, (meta_spy, 1, 4), "sample_class", advice)
    if meta_spy.calls:
        for name in ("z", "labels"):
            value = meta_spy.calls[-1][name]
            if isinstance(value, torch.Tensor) and value.device != META:
                raise Mistake(
                    f"sample_class made {name} on '{value.device}' while the generator's weights are on another "
                    "device ('meta', which stands in for a GPU): make it on the generator's device, e.g. "
                    "device = next(generator.parameters()).device."
                )
    return "n fresh noise vectors, n copies of the label (torch.long), eval mode, no gradients."


# ----------------------------------------------------------------------------------------------------------------
# 07.4 steering_step
# ----------------------------------------------------------------------------------------------------------------


def _steering_nets(noise_dim: int = 4):
    torch.manual_seed(7)
    generator = nn.Sequential(
        nn.Linear(noise_dim, 16), nn.Tanh(), nn.Linear(16, 9), nn.Tanh(), nn.Unflatten(1, (1, 3, 3))
    )
    generator.noise_dim = noise_dim
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(9, 12), nn.Tanh(), nn.Linear(12, 5))
    for p in [*generator.parameters(), *classifier.parameters()]:
        p.data.mul_(2.0)
    return generator.eval(), classifier.eval()


def steering_variants(z, generator, classifier, target: int, step_size: float) -> Dict[str, torch.Tensor]:
    def grad_of(score_fn, images_of=lambda x: (x + 1) / 2):
        zz = z.detach().clone().requires_grad_(True)
        logits = classifier(images_of(generator(zz)))
        (g,) = torch.autograd.grad(score_fn(logits), zz)
        return g

    def log_p(lg):  # log p(target | x) of each image: the log-softmax over the classes
        return lg.log_softmax(dim=1)[:, target]

    g = grad_of(lambda lg: log_p(lg).sum())
    unit = g / g.norm(dim=1, keepdim=True)
    return {
        "right": z + step_size * g,
        "descent": z - step_size * g,
        "mean": z + step_size * grad_of(lambda lg: log_p(lg).mean()),
        "probability": z + step_size * grad_of(lambda lg: lg.softmax(1)[:, target].sum()),
        "logit": z + step_size * grad_of(lambda lg: lg[:, target].sum()),
        "batch_softmax": z + step_size * grad_of(lambda lg: lg.log_softmax(dim=0)[:, target].sum()),
        "no_rescale": z + step_size * grad_of(lambda lg: log_p(lg).sum(), images_of=lambda x: x),
        "normalised": z + step_size * unit,
        "gradient_only": step_size * g,
        "raw_gradient": g,
        "no_step_size": z + g,
    }


STEERING_ADVICE = {
    "descent": "z moved DOWN log p(target) (z − η·grad): steering climbs, z + step_size * grad",
    "mean": "you averaged the log-probabilities over the batch, so each z's step shrinks with the batch size (here by "
    "1/N). Sum them: z_i only affects image i, so the gradient of the sum is each z's own gradient",
    "probability": "you followed the softmax probability of the target; follow its log-probability, "
    "log_softmax(dim=1)[:, target]: the probability's gradient is p · ∇log p, which all but vanishes where p is small, "
    "that is, exactly where the image is not yet the class",
    "logit": "you climbed the target's raw logit, classifier(images)[:, target]. That is the contrast the lesson draws, "
    "not the objective this exercise asks for: classifier guidance (Dhariwal & Nichol, 2021) climbs "
    "log p(target | x) = logits.log_softmax(dim=1)[:, target], which also pushes the other classes down, while the "
    "raw logit's gradient raises every class whose logit rises with the target's. Take the log-softmax over the "
    "classes before picking the target's column",
    "batch_softmax": "you took the log-softmax over dim=0, across the batch; each image's probabilities are over its "
    "own classes: log_softmax(dim=1)",
    "no_rescale": "the generator makes images in [-1, 1] but the classifier reads pixels in [0, 1]: map them with "
    "(images + 1) / 2 before the classifier",
    "normalised": "you normalised the gradient to length 1; take the plain gradient times step_size",
    "gradient_only": "you returned step_size · gradient, not the new code: return z + step_size * grad",
    "raw_gradient": "you returned the gradient, not the new code: return z + step_size * grad",
    "no_step_size": "step_size is missing: z + step_size * grad",
}


@exercise("07.4", "steering_step", points=3)
def steering_step(fn) -> str:
    """Check ``steering_step(z, generator, classifier, target, step_size)`` = z + η ∇_z log p(target | x), detached.

    Runs in a forked random state: checking does not change the random numbers the notebook draws next.
    """
    with torch.random.fork_rng():
        return _check_steering_step(fn)


def _check_steering_step(fn) -> str:
    generator, classifier = _steering_nets()
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(3))
    for target, step_size in ((2, 0.3), (4, 0.05)):
        what = f"steering_step(z of shape {tuple(z.shape)}, generator, classifier, target={target}, step_size={step_size})"
        z_in = z.clone()
        try:
            out = fn(z_in, generator, classifier, target, step_size)
        except RuntimeError as exc:
            if "scalar outputs" not in str(exc):
                out = call(fn, z_in, generator, classifier, target, step_size, what=what)
            else:
                raise Mistake(
                    f"{what} crashed: {exc}. backward() needs one number: sum the target's log-probabilities over "
                    "the batch, log_probs[:, target].sum() (z_i only affects image i)."
                ) from None
        except Exception:
            out = call(fn, z_in, generator, classifier, target, step_size, what=what)
        out = expect_tensor(out, what, shape=tuple(z.shape))
        if not torch.equal(z_in, z):
            raise Mistake(f"{what} changed the z it was given (an in-place update such as z += ...): return a new "
                          "tensor and leave the input alone, so that a path of codes can be kept.")  # fmt: skip
        want = steering_variants(z, generator, classifier, target, step_size)
        if close(out, want["right"]):
            if out.requires_grad or out.grad_fn is not None:
                raise Mistake(f"{what} returns a tensor still attached to the graph: return (z + step_size * grad)"
                              ".detach(), so that the next step starts from a fresh leaf.")  # fmt: skip
            continue
        if close(out, z):
            raise Mistake(f"{what} returned z unchanged: compute the gradient of log p(target) with respect to z "
                          "(z.requires_grad_(True), then torch.autograd.grad or .backward()) and step along it.")  # fmt: skip
        named = match_variants(out, want, STEERING_ADVICE, close)
        if named:
            raise Mistake(f"{what}: {named}.")
        raise Mistake(f"{what} is off by up to {float((out - want['right']).abs().max()):.4f}; expected z + step_size · "
                      "∇_z classifier((generator(z) + 1) / 2).log_softmax(dim=1)[:, target].sum().")  # fmt: skip
    return "one step up log p(target | x), for every z at once, detached."
