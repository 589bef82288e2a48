"""Checkers for lesson 02 (autoencoders): encoder, decoder, loss, encode + decode, interpolation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .core import Mistake, call, close, exercise, expect_tensor

N_IMAGES = 6


def _images(n: int = N_IMAGES, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def _codes(n: int, dim: int, seed: int = 1) -> torch.Tensor:
    return 3 * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def _build(fn, latent_dim: int, what: str) -> nn.Module:
    module = call(fn, latent_dim, what=f"{what}({latent_dim})")
    if module is None:
        raise Mistake(f"{what}({latent_dim}) returned None: did you forget to `return` the network?")
    if isinstance(module, type):
        raise Mistake(
            f"{what} returned the class {module.__name__}, not a network: build one, e.g. nn.Sequential(...)."
        )
    if not isinstance(module, nn.Module):
        raise Mistake(
            f"{what}({latent_dim}) should return a torch.nn.Module (e.g. nn.Sequential(...)), got a "
            f"{type(module).__name__}."
        )
    if not any(p.requires_grad for p in module.parameters()):
        raise Mistake(
            f"the network from {what}({latent_dim}) has no trainable weights: it needs nn.Linear layers."
        )
    return module.eval()


def _forward(module: nn.Module, x: torch.Tensor, what: str, flatten_hint: str) -> torch.Tensor:
    """Run the learner's network; turn the classic shape crash into a hint."""
    try:
        with torch.no_grad():
            return module(x)
    except RuntimeError as exc:
        if "cannot be multiplied" in str(exc):
            raise Mistake(f"{what} crashed with a shape mismatch ({exc}). {flatten_hint}") from None
        raise Mistake(f"{what} raised RuntimeError: {exc}.") from None
    except Exception as exc:
        raise Mistake(f"{what} raised {type(exc).__name__}: {exc}.") from None


def _expect_finite(values: torch.Tensor, what: str, cause: str) -> None:
    """Name NaN and inf for what they are before any other test compares numbers (NaN ≠ NaN, so later tests
    would blame a different cause, e.g. randomness or a missing activation)."""
    values = values.detach()
    if torch.isfinite(values).all():
        return
    kinds = " and ".join(
        k for k, bad in (("NaN", torch.isnan(values)), ("inf", torch.isinf(values))) if bad.any()
    )
    raise Mistake(f"{what} contains {kinds} for ordinary finite inputs: {cause}")


def _is_affine(f, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> bool:
    """An affine map satisfies f(a) − f(b) + f(c) = f(a − b + c); a network with a nonlinearity does not."""
    return close(f(a) - f(b) + f(c), f(a - b + c), atol=1e-4, rtol=1e-3)


@exercise("02.1", "make_encoder", points=2)
def make_encoder(fn) -> str:
    """Check ``make_encoder(latent_dim)``: a network from images N×1×28×28 to codes N×latent_dim."""
    torch.manual_seed(0)
    for latent_dim in (8, 3):
        encoder = _build(fn, latent_dim, "make_encoder")
        x = _images()
        codes = _forward(
            encoder,
            x,
            f"make_encoder({latent_dim})(images)",
            "Images arrive as N×1×28×28: start the encoder with nn.Flatten() so nn.Linear sees N×784.",
        )
        expect_tensor(codes, f"make_encoder({latent_dim})(images)")
        shape = tuple(codes.shape)
        if shape == (N_IMAGES, latent_dim):
            pass
        elif len(shape) == 4 and shape[:3] == (N_IMAGES, 1, 28):
            raise Mistake(
                f"the codes have shape {shape}: nn.Linear acted on the last axis (a row of 28 pixels) as "
                "the images were not flattened. Start the encoder with nn.Flatten()."
            )
        elif len(shape) == 2 and shape[0] == N_IMAGES:
            raise Mistake(
                f"make_encoder({latent_dim}) gives codes of length {shape[1]}; the last layer must output "
                f"latent_dim = {latent_dim} numbers (use the argument, not a fixed number)."
            )
        else:
            raise Mistake(
                f"for {N_IMAGES} images the codes should have shape ({N_IMAGES}, {latent_dim}), got {shape}."
            )
        _expect_finite(
            codes,
            f"the code from make_encoder({latent_dim}) of images in [0, 1]",
            "some operation is undefined there (the log or square root of a negative number, a division by "
            "zero). nn.Linear and nn.ReLU alone cannot produce it.",
        )
    if float(codes.min()) > 0 and float(codes.max()) < 1:
        raise Mistake(
            "every code value lies in (0, 1): the encoder ends with a Sigmoid. End it with a plain "
            "nn.Linear so codes can take any real value."
        )
    if float(codes.min()) >= 0:
        raise Mistake(
            "no code value is negative: the encoder ends with a ReLU, which confines the codes to the corner "
            "where every coordinate is ≥ 0 (a 1/2^d share of the code space for d numbers) and can zero whole "
            "dimensions. End it with a plain nn.Linear."
        )
    a, b, c = _images(seed=1), _images(seed=2), _images(seed=3)
    with torch.no_grad():
        if _is_affine(encoder, a, b, c):
            raise Mistake(
                "your encoder is a purely linear map: there is no activation (e.g. nn.ReLU()) between its "
                "Linear layers, so it can do no better than PCA. Put one after each hidden layer."
            )
        if not torch.equal(encoder(a), encoder(a)):
            raise Mistake(
                "encoding the same images twice gave different codes: remove any randomness (noise, "
                "dropout) from the encoder; an autoencoder's code is deterministic."
            )
    return f"images 6×1×28×28 become codes 6×{latent_dim}, any real values, through a nonlinear network."


@exercise("02.2", "make_decoder", points=2)
def make_decoder(fn) -> str:
    """Check ``make_decoder(latent_dim)``: a network from codes N×latent_dim to images N×1×28×28 in [0, 1]."""
    torch.manual_seed(0)
    for latent_dim in (8, 3):
        decoder = _build(fn, latent_dim, "make_decoder")
        z = _codes(N_IMAGES, latent_dim)
        out = _forward(
            decoder,
            z,
            f"make_decoder({latent_dim})(codes)",
            f"The decoder's first layer must take latent_dim = {latent_dim} inputs.",
        )
        expect_tensor(out, f"make_decoder({latent_dim})(codes)")
        shape = tuple(out.shape)
        if shape == (N_IMAGES, 784):
            raise Mistake(
                "the decoder returns flat vectors of 784 pixels; reshape them into images at the end: "
                "nn.Unflatten(1, (1, 28, 28))."
            )
        if shape == (N_IMAGES, 28, 28):
            raise Mistake("the images lack their channel axis: add it with nn.Unflatten(1, (1, 28, 28)).")
        if shape != (N_IMAGES, 1, 28, 28):
            raise Mistake(
                f"for {N_IMAGES} codes the decoder should return images ({N_IMAGES}, 1, 28, 28), got {shape}."
            )
        _expect_finite(
            out,
            f"the image from make_decoder({latent_dim}) of finite codes",
            "some operation is undefined there (the log or square root of a negative number, a division by "
            "zero). nn.Linear, nn.ReLU and nn.Sigmoid alone cannot produce it.",
        )
    lo, hi = float(out.min()), float(out.max())
    if lo < 0 or hi > 1:
        if lo >= 0 and bool((out == 0).any()):
            raise Mistake(
                f"outputs reach {hi:.2f}, above 1, and some are exactly 0: a final ReLU does not cap values. "
                "Pixels lie in [0, 1]: end the decoder with nn.Sigmoid()."
            )
        if lo >= 0:
            raise Mistake(
                f"outputs range from {lo:.2f} to {hi:.2f}, above 1, but pixels lie in [0, 1]: end the decoder "
                "with nn.Sigmoid(), and do not rescale its output (no × 255)."
            )
        raise Mistake(
            f"outputs range from {lo:.2f} to {hi:.2f}, but pixels lie in [0, 1]: end the decoder with "
            "nn.Sigmoid()."
        )
    flat = out.reshape(len(out), -1)
    if close(flat.sum(dim=1), torch.ones(len(out))) or close(out.sum(dim=-1), torch.ones(out.shape[:-1])):
        raise Mistake(
            "the pixels of each image (or of each row) sum to 1: that is a Softmax, which makes the pixels share "
            "one unit of brightness, so every pixel is nearly black. End with nn.Sigmoid(), which maps each "
            "pixel to [0, 1] on its own."
        )
    a, b, c = (_codes(4, latent_dim, seed=s) for s in (2, 3, 4))

    def logits(codes: torch.Tensor) -> torch.Tensor:  # undo the final sigmoid to test the layers before it
        return torch.logit(decoder(codes).clamp(1e-6, 1 - 1e-6))

    with torch.no_grad():
        if _is_affine(logits, a, b, c):
            raise Mistake(
                "before its final sigmoid your decoder is a purely linear map: put an activation (e.g. "
                "nn.ReLU()) after each hidden Linear layer."
            )
    return f"codes 6×{latent_dim} become images 6×1×28×28 with pixel values in [0, 1]."


@exercise("02.3", "reconstruction_loss", points=1)
def reconstruction_loss(fn) -> str:
    """Check ``reconstruction_loss(reconstructions, images)``: squared error per image, mean over images."""
    images = _images(4, seed=5)
    reconstructions = _images(4, seed=6).clamp(0.01, 0.99).requires_grad_(True)
    out = call(fn, reconstructions, images, what="reconstruction_loss(reconstructions, images)")
    if isinstance(out, float):
        raise Mistake(
            "you returned a Python float (from .item()?): return the tensor itself, or training cannot "
            "compute gradients from it."
        )
    expect_tensor(out, "reconstruction_loss(reconstructions, images)")
    diff = reconstructions.detach() - images
    per_image = (diff**2).reshape(4, -1).sum(dim=1)
    expected = per_image.mean()
    if tuple(out.shape) == (4,):
        raise Mistake(
            "you returned one loss per image (shape (4,)); average them over the batch with .mean()."
        )
    if out.numel() != 1:
        raise Mistake(f"the loss should be one number (a 0-d tensor), got shape {tuple(out.shape)}.")
    value = out.detach().reshape(())
    _expect_finite(
        value,
        "the loss of reconstructions and images in (0, 1)",
        "some operation is undefined there (a square root or log of a negative number, e.g. of x̂ − x before "
        "squaring it, or a division by zero). The squared error needs only -, ** 2, .sum and .mean.",
    )
    if not out.requires_grad:
        raise Mistake(
            "the loss does not depend on the reconstructions through the graph (did you use .detach(), "
            ".item() or NumPy?): training would not learn anything."
        )
    if close(value, expected):
        return f"{float(expected):.2f} = squared error summed over 784 pixels, averaged over 4 images."

    def per_image_mean(per_pixel: torch.Tensor) -> torch.Tensor:
        return per_pixel.reshape(4, -1).sum(dim=1).mean()

    bce = F.binary_cross_entropy(reconstructions.detach(), images, reduction="none")
    known = {
        "you averaged over the pixels as well (F.mse_loss's default, or .mean() of everything), "
        "which is 784× smaller. Sum over the pixels of each image, then average over images.": expected / 784,
        "you summed over the whole batch: the loss then grows with the batch size. Sum over the pixels, then "
        "average over the images (.sum(dim=...) then .mean()).": expected * 4,
        "you took a square root per image (an RMSE); keep the plain squared error.": per_image.sqrt().mean(),
        "this is the square root of the loss; drop the square root.": expected.sqrt(),
        "you used the absolute error |x̂ − x|; this loss squares the difference.": per_image_mean(diff.abs()),
        "you forgot to square the difference (positive and negative errors cancel out): use (x̂ − x) ** 2.": (
            per_image_mean(diff)
        ),
        "this is binary cross-entropy; the exercise asks for the squared error (x̂ − x) ** 2.": per_image_mean(
            bce
        ),
        "this is binary cross-entropy with logits, applied to reconstructions that are already pixel values in "
        "[0, 1] (the decoder ends with a sigmoid); the exercise asks for the squared error (x̂ − x) ** 2.": (
            per_image_mean(
                F.binary_cross_entropy_with_logits(reconstructions.detach(), images, reduction="none")
            )
        ),
        "you applied a sigmoid to the reconstructions: they are already pixel values in [0, 1] (the decoder "
        "ends with one). Compare them with the images as they are.": per_image_mean(
            (torch.sigmoid(reconstructions.detach()) - images) ** 2
        ),
        "you put the pixels on the 0–255 scale (255² = 65,025× larger): the images and reconstructions are "
        "already in [0, 1]; use them as they are.": expected * 255**2,
    }
    for advice, wrong in known.items():
        if close(value, wrong):
            raise Mistake(advice)
    if close(value, -expected):
        raise Mistake("the loss has the wrong sign: a loss to minimize must be ≥ 0.")
    raise Mistake(
        f"expected {float(expected):.4f} (sum over pixels of (x̂ − x)², mean over images), got "
        f"{float(value):.4f}."
    )


class _ProbeAutoencoder(nn.Module):
    """A tiny autoencoder with dropout (so training mode shows) that records how it was called."""

    def __init__(self, latent_dim: int = 4) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, latent_dim)
        )
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))
        self.encoded_in_training_mode = False

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4:
            raise ValueError(f"encode expects images N×1×28×28, got shape {tuple(images.shape)}")
        self.encoded_in_training_mode |= self.training
        return self.encoder(images)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        if codes.dim() != 2 or codes.shape[1] != self.latent_dim:
            raise ValueError(f"decode expects codes N×{self.latent_dim}, got shape {tuple(codes.shape)}")
        return self.decoder(codes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))


@exercise("02.4", "encode_decode", points=2)
def encode_decode(fn) -> str:
    """Check ``encode_decode(model, images) -> (codes, reconstructions)``: eval mode, no gradients."""
    model = _ProbeAutoencoder().train()  # as a model is right after training
    images = _images(5, seed=7)
    out = call(fn, model, images, what="encode_decode(model, images)")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Mistake(
            f"return two things, `return codes, reconstructions`; got {type(out).__name__}"
            f"{'' if not isinstance(out, (tuple, list)) else f' of length {len(out)}'}."
        )
    codes, reconstructions = out
    expect_tensor(codes, "the codes (first returned value)")
    expect_tensor(reconstructions, "the reconstructions (second returned value)")
    if tuple(codes.shape) == (5, 1, 28, 28) and tuple(reconstructions.shape) == (5, 4):
        raise Mistake("the order is swapped: return codes first, then reconstructions.")
    expect_tensor(codes, "the codes", shape=(5, 4))
    expect_tensor(reconstructions, "the reconstructions", shape=(5, 1, 28, 28))
    if model.encoded_in_training_mode or model.training:
        raise Mistake(
            "the model was still in training mode: call model.eval() first. In training mode layers such "
            "as dropout are random, so the same image would not always get the same code."
        )
    if codes.requires_grad or reconstructions.requires_grad:
        raise Mistake(
            "the results carry gradients: wrap the work in `with torch.no_grad():` (it saves memory and "
            "time when you only look at codes and reconstructions)."
        )
    with torch.no_grad():
        want_codes = model.encode(images)
        want_reconstructions = model.decode(want_codes)
    if not close(codes, want_codes):
        with torch.no_grad():
            rescaled = [model.encode(images * 255), model.encode(images / 255)]
        if any(close(codes, r, atol=1e-4) for r in rescaled):
            raise Mistake(
                "the codes are those of rescaled images (× 255 or / 255): the images are already in [0, 1], "
                "as the model was trained on them; encode them as they are."
            )
        raise Mistake("the codes differ from model.encode(images).")
    if not close(reconstructions, want_reconstructions):
        raise Mistake(
            "the reconstructions differ from model.decode(codes): decode the codes you just computed."
        )
    return "5 images → 5 codes of length 4 → 5 reconstructions, in eval mode and without gradients."


@exercise("02.5", "interpolate_codes", points=1)
def interpolate_codes(fn) -> str:
    """Check ``interpolate_codes(z_start, z_end, steps)``: codes on a straight line, both ends included."""
    z_start = torch.tensor([0.0, 2.0, -1.0])
    z_end = torch.tensor([1.0, -2.0, 3.0])
    steps = 5
    out = call(fn, z_start.clone(), z_end.clone(), steps, what="interpolate_codes(z_start, z_end, 5)")
    expect_tensor(out, "interpolate_codes(z_start, z_end, 5)")
    t = torch.linspace(0, 1, steps)[:, None]
    expected = z_start + t * (z_end - z_start)
    if tuple(out.shape) == (3, steps):
        raise Mistake("the result is 3×5 (one column per step); return one code per row: shape (5, 3).")
    if tuple(out.shape) != (steps, 3):
        raise Mistake(
            f"for 5 steps between codes of length 3 the result should be 5×3, got {tuple(out.shape)}."
        )
    _expect_finite(
        out,
        "interpolate_codes(z_start, z_end, 5)",
        "look at the fractions t: a division by zero (e.g. by steps − steps, or by steps − 1 with steps = 1)?",
    )
    if close(out, expected):
        return "5 evenly spaced codes from z_start to z_end, both ends included."
    t_raw = torch.arange(steps, dtype=torch.float32)[:, None]
    if close(out, z_start + t_raw * (z_end - z_start)):
        raise Mistake(
            "the fractions run 0, 1, 2, … steps − 1 instead of 0 to 1, so the walk overshoots z_end: divide by "
            "steps − 1, or use torch.linspace(0, 1, steps)."
        )
    if close(out, expected.flip(0)):
        raise Mistake("the steps run backwards: the first row must be z_start and the last z_end.")
    t_open = (torch.arange(steps) / steps)[:, None]
    if close(out, z_start + t_open * (z_end - z_start)):
        raise Mistake(
            "the last row is not z_end: the fractions should run from 0 to 1 inclusive, "
            "torch.linspace(0, 1, steps), not arange(steps) / steps."
        )
    if not close(out[0], z_start):
        raise Mistake("the first row should be z_start (fraction 0).")
    if not close(out[-1], z_end):
        raise Mistake("the last row should be z_end (fraction 1).")
    raise Mistake(
        "the ends are right but the rows between are not evenly spaced on the straight line "
        "z_start + t · (z_end − z_start)."
    )
