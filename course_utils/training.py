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

    history = fit(step, TensorBatches(images), Budget(epochs=10), optimizers=[optimizer], schedule=warmup_cosine)

The lessons write their own loops (a ``for`` over batches, the step, ``history.add``, a progress bar) so that a
learner sees every line; ``fit`` is the same loop with the bookkeeping that long runs need (budgets in time,
schedules, callbacks, a live view), used by the package's trainers and the benchmarks.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
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

    >>> history = History(log_every=25)
    >>> history.add(step, loss=0.7, accuracy=0.5)  # every step; every 25th, the averages are recorded
    >>> history.record(step, test_loss=0.8)        # recorded as it is (e.g. an evaluation)
    >>> history["loss"]        # the values, in order
    >>> history.steps["loss"]  # the step at which each was recorded

    ``fit`` also sets ``history.seconds`` (training time, callbacks not counted), ``history.steps_done``,
    ``history.epochs_done`` (complete passes over the data) and ``history.epoch_seconds`` (time of each).
    """

    def __init__(self, log_every: int = 1) -> None:
        self.values: Dict[str, List[float]] = defaultdict(list)
        self.steps: Dict[str, List[int]] = defaultdict(list)
        self.log_every = log_every
        self._sums: Dict[str, float] = defaultdict(float)
        self._added = 0
        self.seconds = 0.0
        self.steps_done = 0
        self.epochs_done = 0
        self.epoch_seconds: List[float] = []

    def record(self, step: int, **values: float) -> None:
        """Record one value per name at a step; tensors are turned into floats; NaN/inf stop training."""
        for name, value in values.items():
            self.values[name].append(check_finite(value, step=step, name=name))
            self.steps[name].append(int(step))

    def add(self, step: int, **numbers: float) -> bool:
        """Add one training step's numbers; every ``log_every`` calls, record their averages at ``step``.

        Averages make smoother curves than single steps and fewer points to store. A NaN or infinite number stops
        training at once (``TrainingDiverged``). Returns True when this call recorded.
        """
        for name, value in numbers.items():
            self._sums[name] += check_finite(value, step=step, name=name)
        self._added += 1
        if self._added < self.log_every:
            return False
        self.flush(step)
        return True

    def flush(self, step: int) -> bool:
        """Record the averages of the numbers added since the last record (call it once training ends).

        Returns True when there was something to record."""
        added, self._added = self._added, 0
        if added:
            self.record(step, **{name: total / added for name, total in self._sums.items()})
        self._sums = defaultdict(float)
        return bool(added)

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


@dataclass
class Budget:
    """How long to train: ``epochs`` (passes over the data), ``steps``, or ``seconds`` of training time on
    ``clock``, whichever is spent first; give at least one. A benchmark on a shared machine passes a CPU-time clock
    (``time.process_time``) so that other programs do not eat its budget."""

    epochs: Optional[int] = None
    steps: Optional[int] = None
    seconds: Optional[float] = None
    clock: Callable[[], float] = time.perf_counter


@dataclass
class Report:
    """What ``fit`` shows and records while it trains.

    Args:
        desc: the progress bar's label; ``show_progress=False`` hides the bar (tests, benchmarks).
        log_every: record the average of each of the step's numbers over this many steps (``History.add``).
        view, view_samples: a ``LiveView`` redrawn after each record, with the images ``view_samples()`` gives.
        history: record into this ``History`` (e.g. one a callback reads) instead of a new one.
    """

    desc: str = "training"
    show_progress: bool = True
    log_every: int = 10
    view: Optional[object] = None
    view_samples: Optional[Callable[[], torch.Tensor]] = None
    history: Optional[History] = None


def _total_steps(batches, budget: Budget) -> Optional[int]:
    """How many steps the budget's steps and epochs allow (``None``: only a time budget)."""
    epochs, steps = budget.epochs, budget.steps
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
    budget: Budget,
    *,
    optimizers: Sequence[torch.optim.Optimizer] = (),
    schedule: Callable[[float], float] = constant,
    every: Sequence[Tuple[int, Callback]] = (),
    report: Optional[Report] = None,
) -> History:
    """Call ``step(batch)`` on batch after batch until the ``budget`` is spent; return the ``History``.

    Args:
        step: one training step on one batch; returns the numbers to record, e.g. ``{"loss": loss}``
            (floats or 0-d tensors). A NaN or infinite number stops training with ``TrainingDiverged``.
        batches: an iterable of batches, iterated again for each epoch (e.g. a ``TensorBatches``).
        budget: epochs, steps and/or seconds (``Budget``). Seconds count training time only: callbacks excluded.
        optimizers, schedule: before each step, each optimizer's learning rates are set to their initial value
            times ``schedule(progress)``, where progress (0 → 1) is the share of the budget spent.
        every: ``(n, callback)`` pairs: ``callback(step)`` runs after every n-th step and once more at the end
            (if the last step was not a multiple of n); the numbers it returns, if any, are recorded.
        report: the progress bar, how often to record, a live view (``Report``).

    The history also gets ``seconds`` (training time), ``steps_done``, ``epochs_done`` and ``epoch_seconds``
    (the training time of each complete epoch).
    """
    report = report if report is not None else Report()
    total, seconds, clock = _total_steps(batches, budget), budget.seconds, budget.clock
    if total is None and seconds is None:
        raise ValueError("Give epochs, steps or seconds: with none of them, training would never end.")
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be a positive number, got {seconds!r}.")
    per_epoch = len(batches) if hasattr(batches, "__len__") else None
    base_rates = [[group["lr"] for group in opt.param_groups] for opt in optimizers]
    history = report.history if report.history is not None else History()
    history.log_every, history.epoch_seconds = report.log_every, []
    done, epochs_done = 0, 0
    last_call = [0] * len(every)  # per callback (two callbacks may share the same n)
    bar = progress(total=total, desc=report.desc, disable=not report.show_progress)
    elapsed, started, epoch_start = 0.0, clock(), 0.0

    def training_time() -> float:
        return elapsed + clock() - started

    def show() -> None:
        if report.view is not None:
            report.view.update(
                history, report.view_samples
            )  # the view calls view_samples() only when it redraws

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
            done += 1
            bar.update(1)
            if history.add(done, **numbers):
                show()
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
    if history.flush(done):
        show()
    run_callbacks(final=True)
    bar.close()
    if report.view is not None:
        report.view.close(history, report.view_samples)
    history.seconds, history.steps_done, history.epochs_done = elapsed, done, epochs_done
    return history
