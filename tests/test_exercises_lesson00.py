"""Lesson 00's checkers: the right answers pass, and each mistake they claim to diagnose gets its diagnosis."""

from __future__ import annotations

import pytest
import torch

from course_utils import check
from course_utils.exercises import RESULTS, ExerciseFailed, summary


def feedback(checker, answer) -> str:
    with pytest.raises(ExerciseFailed) as info:
        checker(answer)
    return str(info.value)


def test_right_answers_pass_and_are_recorded(capsys):
    before = len(RESULTS)
    result = check.flatten_batch(lambda x: x.flatten(start_dim=1))
    assert result.passed and result.points == 1
    assert check.to_minus_one_one(lambda x: x * 2 - 1).passed
    assert "✅ Exercise 00.1" in capsys.readouterr().out
    assert len(RESULTS) == before + 2 and "00.2" in summary()


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda x: x.view(-1), "whole batch into one long vector"),
        (lambda x: x.reshape(len(x), -1).T, "images are in columns"),
        (lambda x: x[:, 0], "removed the channel dimension"),
        (lambda x: x.reshape(784, len(x)).T, "pixels are shuffled between images"),
        (lambda x: x.transpose(2, 3).reshape(len(x), -1), "column by column"),
        (lambda x: x.reshape(len(x), -1) + 1, "values differ"),
        (lambda x: x.reshape(len(x), 2, -1), "should have shape (5, 784)"),
    ],
    ids=[
        "one-vector",
        "transposed",
        "kept-28x28",
        "mixed-images",
        "column-order",
        "wrong-values",
        "wrong-shape",
    ],
)
def test_flatten_batch_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.flatten_batch, answer)


def in_place(x):
    x.mul_(2).sub_(1)
    return x


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        (lambda x: x - 0.5, "subtracted 0.5"),
        (lambda x: x * 2, "scaled by 2"),
        (lambda x: (x - 1) * 2, "order of the steps"),
        (lambda x: (x - x.mean()) / x.std(), "standardized"),
        (in_place, "changed the input in place"),
        (lambda x: x * 3, "yours range from 0.000 to 3.000"),
    ],
    ids=["minus-half", "times-two", "wrong-order", "standardized", "in-place", "other"],
)
def test_to_minus_one_one_mistakes(answer, diagnosis):
    assert diagnosis in feedback(check.to_minus_one_one, answer)


def unfinished(images):
    raise NotImplementedError("Exercise 00.1: complete flatten_batch")


def crashing(images):
    return images.reshape(3, 3)


def test_framework_feedback_for_unfinished_crashing_and_missing_return():
    assert "not done yet" in feedback(check.flatten_batch, unfinished)
    message = feedback(check.flatten_batch, crashing)
    assert "raised RuntimeError" in message and "images.reshape(3, 3)" in message
    assert "forget the `return`" in feedback(check.flatten_batch, lambda x: None)
    assert "torch.Tensor" in feedback(check.flatten_batch, lambda x: x.numpy())
    assert "Pass your function itself" in feedback(check.flatten_batch, torch.zeros(3))


def test_failure_is_shown_without_a_traceback_in_jupyter():
    with pytest.raises(ExerciseFailed) as info:
        check.to_minus_one_one(lambda x: x - 0.5)
    rendered = info.value._render_traceback_()
    assert len(rendered) == 2 and "subtracted 0.5" in rendered[1]
    assert not info.value.result.passed and info.value.result.points == 0


def test_check_offers_every_registered_checker_under_its_name():
    from course_utils import check
    from course_utils.exercises.core import CHECKERS

    assert len(CHECKERS) >= 45 and set(check.__all__) == {"summary"} | {
        i.checker.__name__ for i in CHECKERS.values()
    }
    for exercise_id, info in CHECKERS.items():
        assert getattr(check, info.checker.__name__) is info.checker, exercise_id
    assert check.LESSON_MODULES[0] == "lesson00" and "lesson09" in check.LESSON_MODULES
