"""Training support: history, progress, and the stop on NaN."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from course_utils import History, TrainingDiverged, check_finite, progress
from course_utils.training import Budget, Report, fit, moving_average, warmup_cosine, with_average


def test_check_finite_passes_numbers_and_stops_on_nan_or_inf():
    assert check_finite(torch.tensor(0.5), step=1) == 0.5
    with pytest.raises(TrainingDiverged, match="(?s)became nan at step 7.*learning rate"):
        check_finite(torch.tensor(float("nan")), step=7)
    with pytest.raises(TrainingDiverged, match="became inf"):
        check_finite(math.inf, step=1, name="generator loss")


def test_a_diverging_training_run_stops_with_advice():
    """A real loop with a far too large learning rate: the loss overflows and the guard stops it."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e6)
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    history = History()
    with pytest.raises(TrainingDiverged) as info:
        for step in range(200):
            loss = ((model(x) - y) ** 2).mean()
            history.record(step, loss=loss)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert "What to try" in str(info.value)
    assert 0 < len(history["loss"]) < 200


def test_history_records_steps_and_round_trips():
    history = History()
    history.record(0, loss=1.0, accuracy=0.1)
    history.record(10, loss=torch.tensor(0.5))
    assert history["loss"] == [1.0, 0.5] and history.steps["loss"] == [0, 10]
    assert history.last("accuracy") == 0.1 and "loss" in history
    copy = History.from_dict(history.to_dict())
    assert copy.to_dict() == history.to_dict()
    with pytest.raises(KeyError, match="it has: loss, accuracy"):
        history["lr"]


def test_progress_bar_counts():
    bar = progress(range(5), desc="test", disable=True)
    assert sum(1 for _ in bar) == 5


def test_warmup_cosine_warms_up_then_decays_to_zero():
    assert warmup_cosine(0.0, warmup=0.03) == pytest.approx(0.1)
    assert warmup_cosine(0.015, warmup=0.03) == pytest.approx(0.55)
    assert warmup_cosine(0.03, warmup=0.03) == pytest.approx(1.0)
    assert warmup_cosine(0.5, warmup=0.03) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.47 / 0.97)))
    assert warmup_cosine(1.0) == pytest.approx(0.0, abs=1e-12) and warmup_cosine(2.0) == pytest.approx(
        0.0, abs=1e-12
    )


def _counting_step(log):
    def step(batch):
        log.append(float(batch.sum()))
        return {"loss": float(len(log)), "size": len(batch)}

    return step


QUIET = Report(show_progress=False)
QUIET_EVERY_4 = Report(show_progress=False, log_every=4)


def test_history_add_records_averages_every_log_every_steps_and_flush_records_the_rest():
    history = History(log_every=2)
    assert [history.add(step, loss=float(step)) for step in (1, 2, 3)] == [False, True, False]
    assert history.steps["loss"] == [2] and history["loss"] == [1.5]
    assert history.flush(3) and not history.flush(3)  # the rest once, then nothing is left
    assert history.steps["loss"] == [2, 3] and history["loss"] == [1.5, 3.0]
    with pytest.raises(TrainingDiverged, match="loss became inf at step 4"):
        history.add(4, loss=math.inf)


def test_fit_stops_at_the_first_budget_spent_and_averages_what_the_step_returns():
    batches = [torch.ones(2), torch.ones(3), torch.ones(4)]  # 3 batches per epoch
    log = []
    history = fit(_counting_step(log), batches, Budget(epochs=2), report=QUIET_EVERY_4)
    assert len(log) == 6 and history.steps_done == 6 and history.epochs_done == 2
    assert history.steps["loss"] == [4, 6] and history["loss"] == [2.5, 5.5]  # means of 1..4 and of 5..6
    assert history["size"] == [(2 + 3 + 4 + 2) / 4, (3 + 4) / 2]
    log.clear()
    assert fit(_counting_step(log), batches, Budget(epochs=5, steps=4), report=QUIET).steps_done == 4
    with pytest.raises(ValueError, match="never end"):
        fit(_counting_step(log), batches, Budget(), report=QUIET)
    with pytest.raises(ValueError, match="epochs must be a positive whole number"):
        fit(_counting_step(log), batches, Budget(epochs=0), report=QUIET)
    with pytest.raises(ValueError, match="empty"):
        fit(_counting_step(log), [], Budget(seconds=1.0), report=QUIET)


def test_fit_time_budget_uses_its_clock_and_leaves_callbacks_out():
    now = [0.0]

    def step(batch):
        now[0] += 1.0  # each step takes one "second" of this fake clock
        return {"loss": 0.0}

    def slow_callback(done):
        now[0] += 100.0  # an evaluation that is not part of the training time
        return {"evaluated": float(done)}

    history = fit(
        step, [0] * 10, Budget(seconds=5.0, clock=lambda: now[0]), every=[(2, slow_callback)], report=QUIET
    )
    assert history.steps_done == 5 and history.seconds == pytest.approx(5.0)
    assert history.steps["evaluated"] == [2, 4, 5]  # every 2 steps, and once more at the end


def test_fit_schedules_learning_rates_and_stops_on_nan():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    rates = []

    def step(batch):
        rates.append(optimizer.param_groups[0]["lr"])
        return {"loss": 1.0 if len(rates) < 3 else math.nan}

    with pytest.raises(TrainingDiverged, match="loss became nan at step 3"):
        fit(step, [0] * 10, Budget(steps=10), optimizers=[optimizer], schedule=lambda p: 1 - p, report=QUIET)
    assert rates == pytest.approx([1.0, 0.9, 0.8])


def test_the_moving_average_follows_the_weights_after_every_step():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    averaged = moving_average(model, 0.5)
    assert moving_average(model, None) is None

    def step(batch):  # sets the weight to the batch's value
        with torch.no_grad():
            model.weight.fill_(float(batch))
        return {"loss": 0.0}

    averaged_step = with_average(step, model, averaged)
    for value in (4.0, 8.0):
        averaged_step(value)
    # torch's AveragedModel copies the first weights it sees, then average ← 0.5 · average + 0.5 · weights
    assert averaged.module.weight.item() == pytest.approx(0.5 * 4.0 + 0.5 * 8.0)
    assert model.weight.item() == 8.0 and with_average(step, model, None) is step
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            moving_average(model, bad)
