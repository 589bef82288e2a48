"""The course's one training loop, and what every model family shares with it.

Every model in the course trains the same way: take a batch, do one *step* (forward, loss, backward, update),
record a few numbers, repeat until the budget is spent. Only the step differs between a classifier, an
autoencoder, a VAE and a GAN, so each model family writes its step (a few lines that mirror the lesson) and
hands it to ``fit``, which owns the rest:

- the budget: a number of epochs, of steps, or of seconds, whichever is spent first;
- the learning-rate schedule: ``warmup_cosine`` scales every optimizer's learning rate as the run progresses;
- progress bars, a ``History`` of the step's numbers (averaged every ``log_every`` steps), and a live view;
- the guard against divergence: a NaN or infinite number stops training with ``TrainingDiverged`` and advice;
- callbacks every n steps (evaluation, snapshots), whose time is not counted in the budget.

    def step(batch):
        loss = loss_fn(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss}

    history = fit(step, TensorBatches(images), epochs=10, optimizers=[optimizer], schedule=warmup_cosine)
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .errors import TrainingDiverged

DIVERGENCE_ADVICE = (
    "What to try: lower the learning rate (e.g. divide it by 10); check the inputs for NaN and their range "
    "(images in [0, 1] or [-1, 1]); make sure a log or division never sees 0 (add a small epsilon, or use a "
    "loss 'with logits'); clip gradients (torch.nn.utils.clip_grad_norm_); then re-run from the top."
)

Step = Callable[[object], Mapping[str, object]]
Callback = Callable[[int], Optional[Mapping[str, float]]]


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


@contextmanager
def evaluating(model: nn.Module):
    """Run a block with ``model`` in eval mode (dropout off, batch norm on its running statistics) and without
    gradients, then put it back in the mode it was in::

        with evaluating(model):
            samples = model.decode(z)
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def warmup_cosine(progress: float, warmup: float = 0.05, start: float = 0.1) -> float:
    """The course's learning-rate schedule: the factor to multiply the base learning rate by, at ``progress``.

    ``progress`` runs from 0 (start of training) to 1 (budget spent). The factor rises linearly from ``start``
    to 1 over the first ``warmup`` of the run (large steps on a fresh network can throw it far off), then
    decays along half a cosine to 0 (small steps at the end settle into a minimum). Loshchilov & Hutter (2017)
    for the cosine; Goyal et al. (2017) for the warm-up.
    """
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return start + (1.0 - start) * progress / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))


def constant(progress: float) -> float:
    """No schedule: the learning rate stays as the optimizer was built."""
    return 1.0


class History:
    """Named series of numbers recorded during training (losses, accuracies, D(x), ...).

    >>> history = History()
    >>> history.record(step, loss=0.7, accuracy=0.5)
    >>> history["loss"]        # the values, in order
    >>> history.steps["loss"]  # the step at which each was recorded

    ``fit`` also sets ``history.seconds`` (training time, callbacks not counted), ``history.steps_done``,
    ``history.epochs_done`` (complete passes over the data) and ``history.epoch_seconds`` (time of each).
    """

    def __init__(self) -> None:
        self.values: Dict[str, List[float]] = defaultdict(list)
        self.steps: Dict[str, List[int]] = defaultdict(list)
        self.seconds = 0.0
        self.steps_done = 0
        self.epochs_done = 0
        self.epoch_seconds: List[float] = []

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


def _total_steps(batches, epochs: Optional[int], steps: Optional[int]) -> Optional[int]:
    """How many steps the step and epoch budgets allow (``None``: only a time budget)."""
    for name, value in (("epochs", epochs), ("steps", steps)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive whole number, got {value!r}.")
    if epochs is None:
        return steps
    try:
        per_epoch = len(batches)
    except TypeError:
        raise ValueError("epochs needs batches with a length; give steps or seconds instead.") from None
    if per_epoch == 0:
        raise ValueError("There are no batches: the data has fewer examples than one batch needs.")
    return epochs * per_epoch if steps is None else min(steps, epochs * per_epoch)


def moving_average(model: nn.Module, decay: Optional[float]) -> Optional[AveragedModel]:
    """An exponential moving average of ``model``'s weights (torch's ``AveragedModel``), or None when ``decay`` is None.

    After every step ``averaged.update_parameters(model)`` sets average ← decay · average + (1 − decay) · weights:
    with decay 0.995 the average covers roughly the last 200 steps. Its network (``averaged.module``) is what a
    generator samples from when the last weights still jitter from step to step (lessons 05, 06 and 09).
    """
    if decay is None:
        return None
    if not 0 < decay < 1:
        raise ValueError(f"average_decay must be between 0 and 1 (e.g. 0.995), got {decay!r}.")
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def with_average(step: Step, model: nn.Module, averaged: Optional[AveragedModel]) -> Step:
    """``step``, followed by the moving average's update when there is one (``moving_average``)."""
    if averaged is None:
        return step

    def step_and_average(batch) -> Mapping[str, object]:
        numbers = step(batch)
        averaged.update_parameters(model)
        return numbers

    return step_and_average


def fit(
    step: Step,
    batches: Iterable,
    *,
    epochs: Optional[int] = None,
    steps: Optional[int] = None,
    seconds: Optional[float] = None,
    optimizers: Sequence[torch.optim.Optimizer] = (),
    schedule: Callable[[float], float] = constant,
    log_every: int = 10,
    every: Sequence[Tuple[int, Callback]] = (),
    view=None,
    view_samples: Optional[Callable[[], torch.Tensor]] = None,
    desc: str = "training",
    show_progress: bool = True,
    clock: Callable[[], float] = time.perf_counter,
    history: Optional[History] = None,
) -> History:
    """Call ``step(batch)`` on batch after batch until the budget is spent; return the ``History``.

    Args:
        step: one training step on one batch; returns the numbers to record, e.g. ``{"loss": loss}``
            (floats or 0-d tensors). A NaN or infinite number stops training with ``TrainingDiverged``.
        batches: an iterable of batches, iterated again for each epoch (e.g. a ``TensorBatches``).
        epochs, steps, seconds: the budget; give at least one. Training stops when any is spent. ``seconds``
            counts training time on ``clock`` (callbacks excluded); a benchmark on a shared machine can pass a
            CPU-time clock so that other programs do not eat its budget.
        optimizers, schedule: before each step, each optimizer's learning rates are set to their initial value
            times ``schedule(progress)``, where progress (0 → 1) is the share of the budget spent.
        log_every: record the average of each number over this many steps.
        every: ``(n, callback)`` pairs: ``callback(step)`` runs after every n-th step and once more at the end
            (if the last step was not a multiple of n); the numbers it returns, if any, are recorded.
        view, view_samples: a ``LiveView`` redrawn after each record, with the images ``view_samples()`` gives.
        history: record into this ``History`` (e.g. one a callback reads) instead of a new one.

    The history also gets ``seconds`` (training time), ``steps_done``, ``epochs_done`` and ``epoch_seconds``
    (the training time of each complete epoch).
    """
    total = _total_steps(batches, epochs, steps)
    if total is None and seconds is None:
        raise ValueError("Give epochs, steps or seconds: with none of them, training would never end.")
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be a positive number, got {seconds!r}.")
    per_epoch = len(batches) if hasattr(batches, "__len__") else None
    base_rates = [[group["lr"] for group in opt.param_groups] for opt in optimizers]
    history = history if history is not None else History()
    history.epoch_seconds = []
    sums, counted, done, epochs_done = defaultdict(float), 0, 0, 0
    last_call = [0] * len(every)  # per callback (two callbacks may share the same n)
    bar = progress(total=total, desc=desc, disable=not show_progress)
    elapsed, started, epoch_start = 0.0, clock(), 0.0

    def training_time() -> float:
        return elapsed + clock() - started

    def record_averages() -> None:
        nonlocal sums, counted
        history.record(done, **{name: value / counted for name, value in sums.items()})
        sums, counted = defaultdict(float), 0
        if view is not None:
            view.update(history, view_samples)  # the view calls view_samples() only when it redraws

    def run_callbacks(final: bool) -> None:
        for i, (n, callback) in enumerate(every):
            if (done % n == 0 or final) and last_call[i] != done:
                last_call[i] = done
                numbers = callback(done)
                if numbers:
                    history.record(done, **numbers)

    finished = False
    while not finished:
        took_a_batch = False
        for batch in batches:
            took_a_batch = True
            spent = max(done / total if total else 0.0, training_time() / seconds if seconds else 0.0)
            if spent >= 1.0:
                finished = True
                break
            for opt, rates in zip(optimizers, base_rates):
                for group, rate in zip(opt.param_groups, rates):
                    group["lr"] = rate * schedule(spent)
            numbers = step(batch)
            done, counted = done + 1, counted + 1
            for name, value in numbers.items():
                sums[name] += check_finite(value, done, name)
            bar.update(1)
            if done % log_every == 0:
                record_averages()
            if per_epoch and done % per_epoch == 0:  # the end of a whole pass over the data
                epochs_done += 1
                history.epoch_seconds.append(training_time() - epoch_start)
            if every:
                elapsed += clock() - started  # callbacks are not part of the training time
                run_callbacks(final=False)
                started = clock()
            if per_epoch and done % per_epoch == 0:
                epoch_start = training_time()
        else:
            if not took_a_batch:
                raise ValueError("The batches are empty: there is nothing to train on.")
            if per_epoch is None:
                epochs_done += 1
            finished = total is not None and done >= total
    elapsed += clock() - started
    if counted:
        record_averages()
    run_callbacks(final=True)
    bar.close()
    if view is not None:
        view.close(history, view_samples)
    history.seconds, history.steps_done, history.epochs_done = elapsed, done, epochs_done
    return history
