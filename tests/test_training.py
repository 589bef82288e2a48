"""Training support: history, progress, and the stop on NaN."""

from __future__ import annotations

import math

import pytest
import torch

from course_utils import History, TrainingDiverged, check_finite, progress


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
