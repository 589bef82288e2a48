"""What every training loop in the course shares: progress bars, a loss history, and a guard against NaN.

The loops themselves (one per model family) live next to their models and are short enough to read; they use
these three pieces so that every lesson reports progress, records curves and stops clearly on divergence the same
way.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from typing import Dict, Iterable, List, Optional

import torch
from tqdm.auto import tqdm

from .errors import TrainingDiverged

DIVERGENCE_ADVICE = (
    "What to try: lower the learning rate (e.g. divide it by 10); check the inputs for NaN and their range "
    "(images in [0, 1] or [-1, 1]); make sure a log or division never sees 0 (add a small epsilon, or use a "
    "loss 'with logits'); clip gradients (torch.nn.utils.clip_grad_norm_); then re-run from the top."
)


def progress(
    iterable: Optional[Iterable] = None, total: Optional[int] = None, desc: str = "", **kwargs
) -> tqdm:
    """A progress bar: a widget in Jupyter, a single updating line in a terminal, few lines in a CI log."""
    interactive = "ipykernel" in sys.modules or sys.stderr.isatty()
    options = {"desc": desc, "total": total, "leave": True, "dynamic_ncols": True}
    if not interactive:
        options["mininterval"] = 15.0  # a log file gets a line every 15 s at most
    options.update(kwargs)
    return tqdm(iterable, **options)


def check_finite(loss, step: int, name: str = "loss") -> float:
    """Return the loss as a float, or stop training with ``TrainingDiverged`` if it is NaN or infinite."""
    value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"The {name} became {value} at step {step}: training has diverged.\n{DIVERGENCE_ADVICE}"
        )
    return value


class History:
    """Named series of numbers recorded during training (losses, accuracies, D(x), ...).

    >>> history = History()
    >>> history.record(step, loss=0.7, accuracy=0.5)
    >>> history["loss"]        # the values, in order
    >>> history.steps["loss"]  # the step at which each was recorded
    """

    def __init__(self) -> None:
        self.values: Dict[str, List[float]] = defaultdict(list)
        self.steps: Dict[str, List[int]] = defaultdict(list)

    def record(self, step: int, **values: float) -> None:
        """Record one value per name at a step; tensors are turned into floats; NaN/inf stop training."""
        for name, value in values.items():
            self.values[name].append(check_finite(value, step=step, name=name))
            self.steps[name].append(int(step))

    def __getitem__(self, name: str) -> List[float]:
        if name not in self.values:
            raise KeyError(
                f"No series named {name!r} in this history; it has: {', '.join(self.values) or 'none'}."
            )
        return self.values[name]

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def names(self) -> List[str]:
        return list(self.values)

    def last(self, name: str) -> float:
        return self[name][-1]

    def to_dict(self) -> dict:
        """Plain lists, fit for a checkpoint's metadata or JSON."""
        return {
            name: {"steps": list(self.steps[name]), "values": list(vals)}
            for name, vals in self.values.items()
        }

    @classmethod
    def from_dict(cls, data: dict) -> History:
        history = cls()
        for name, series in data.items():
            history.values[name] = [float(v) for v in series["values"]]
            history.steps[name] = [int(s) for s in series["steps"]]
        return history

    def __repr__(self) -> str:
        parts = [f"{n}: {len(v)} values, last {v[-1]:.4g}" for n, v in self.values.items() if v]
        return "History(" + "; ".join(parts) + ")"
