"""Runtime set-up: the device, seeding, and the fast-mode budget.

``setup()`` is the one call at the top of every notebook. ``budget()`` is the one place where fast mode
(``COURSE_FAST=1``, set by CI) shrinks data and epochs, so lesson text shows a single budget line instead of
``if FAST:`` branches.
"""

from __future__ import annotations

import os
import random
import sys
from types import SimpleNamespace
from typing import Optional, Tuple

import numpy as np
import torch

COLAB_GPU_HINT = (
    "On Colab, switch on a GPU with Runtime → Change runtime type → T4 GPU, then run the notebook again."
)


def is_fast_mode() -> bool:
    """True when the environment variable ``COURSE_FAST`` is set to 1 (or true/yes/on)."""
    return os.environ.get("COURSE_FAST", "").strip().lower() in {"1", "true", "yes", "on"}


def on_colab() -> bool:
    """True inside a Google Colab runtime."""
    return "google.colab" in sys.modules


def get_device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU.

    ``COURSE_DEVICE`` (e.g. ``cpu``) overrides the choice, which helps to compare devices or to debug.
    """
    forced = os.environ.get("COURSE_DEVICE", "").strip()
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_of(model: torch.nn.Module) -> torch.device:
    """The device a model's weights live on (its first parameter or buffer; the CPU for a model with neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (CPU and GPU) so that a run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def describe_device(device: torch.device) -> str:
    """A short, human name for a device, e.g. ``cuda (Tesla T4)`` or ``cpu (2 threads)``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def setup(seed: int = 0) -> torch.device:
    """Pick the device, seed everything, and print one line saying device, seed and mode.

    Returns the device, so a notebook starts with ``device = course_utils.setup()``.
    """
    device = get_device()
    seed_everything(seed)
    mode = "fast mode ON (COURSE_FAST=1: small data, few epochs)" if is_fast_mode() else "full mode"
    print(f"Device: {describe_device(device)} · seed {seed} · {mode} · torch {torch.__version__}")
    if device.type == "cpu" and on_colab():
        print(COLAB_GPU_HINT)
    return device


def _format(value: Optional[int]) -> str:
    return "all" if value is None else f"{value:,}"


def budget(**sizes: Tuple[Optional[int], Optional[int]]) -> SimpleNamespace:
    """Choose the full-mode or the fast-mode value of each size, and say which were chosen.

    Each keyword is ``name=(full, fast)``; ``None`` means "all of it" (e.g. a whole dataset)::

        b = budget(epochs=(10, 1), train_images=(None, 2000))
        # Budget (fast mode): epochs=1 (full: 10), train_images=2,000 (full: all)
        b.epochs, b.train_images

    Returns a namespace with one attribute per keyword.
    """
    fast = is_fast_mode()
    chosen = {}
    for name, pair in sizes.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(
                f"budget({name}=...) needs a pair (full, fast), e.g. {name}=(10, 1); got {pair!r}."
            )
        chosen[name] = pair[1] if fast else pair[0]
    if fast:
        parts = [f"{k}={_format(v)} (full: {_format(sizes[k][0])})" for k, v in chosen.items()]
        print("Budget (fast mode): " + ", ".join(parts))
    else:
        print("Budget (full mode): " + ", ".join(f"{k}={_format(v)}" for k, v in chosen.items()))
    return SimpleNamespace(**chosen)
