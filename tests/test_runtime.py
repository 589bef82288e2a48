"""Device choice, seeding, fast mode and the one budget line."""

from __future__ import annotations

import pytest
import torch

import course_utils
from course_utils import runtime


@pytest.mark.parametrize(
    "value, fast", [("1", True), ("true", True), ("ON", True), ("0", False), ("", False)]
)
def test_fast_mode_reads_the_environment(monkeypatch, value, fast):
    monkeypatch.setenv("COURSE_FAST", value)
    assert runtime.is_fast_mode() is fast


def test_budget_picks_fast_values_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FAST", "1")
    b = course_utils.budget(epochs=(10, 1), train_images=(None, 2000))
    assert (b.epochs, b.train_images) == (1, 2000)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "fast mode" in out and "epochs=1 (full: 10)" in out and "train_images=2,000 (full: all)" in out


def test_budget_picks_full_values(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FAST", "0")
    b = course_utils.budget(epochs=(10, 1), train_images=(None, 2000))
    assert (b.epochs, b.train_images) == (10, None)
    assert "full mode" in capsys.readouterr().out


def test_budget_rejects_a_single_number():
    with pytest.raises(TypeError, match=r"pair \(full, fast\)"):
        course_utils.budget(epochs=10)


def test_setup_prints_one_line_and_seeds(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_FAST", "1")
    device = course_utils.setup(seed=3)
    first = torch.rand(3)
    course_utils.setup(seed=3)
    assert torch.equal(first, torch.rand(3))
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(lines) == 2 and "seed 3" in lines[0] and "fast mode ON" in lines[0]
    assert isinstance(device, torch.device)


def test_device_override_and_colab_hint(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert course_utils.get_device() == torch.device("cpu")
    monkeypatch.setattr(runtime, "on_colab", lambda: True)
    course_utils.setup()
    assert "Change runtime type" in capsys.readouterr().out
