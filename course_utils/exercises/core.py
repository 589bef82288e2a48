"""The exercise-checker framework.

A checker runs the learner's function on small cases and either prints one pass line or stops the cell with a
specific, friendly diagnosis (an ``ExerciseFailed``, shown in Jupyter as its message alone). Checkers are written
with three pieces:

- ``@exercise("03.1", "reparameterize", points=2)`` registers a checker and handles printing and recording;
- ``call(fn, ...)`` runs the learner's code, turning ``NotImplementedError`` and crashes into clear feedback;
- ``Mistake("...")``, raised inside a checker, is the diagnosis the learner reads.

Every check that runs is appended to ``RESULTS``, which the grader reads after executing a notebook.
"""

from __future__ import annotations

import functools
import sysconfig
import traceback
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch

from ..errors import CourseError


@dataclass
class CheckResult:
    """The outcome of one check: which exercise, passed or not, and the message the learner saw."""

    exercise_id: str
    name: str
    passed: bool
    message: str
    points: float
    max_points: float

    def __str__(self) -> str:
        mark = "✅" if self.passed else "❌"
        return f"{mark} Exercise {self.exercise_id} ({self.name}): {self.message}"

    def _ipython_display_(self) -> None:
        """Show nothing when a check is the last line of a cell: its line was printed already."""


@dataclass
class ExerciseInfo:
    exercise_id: str
    name: str
    points: float
    checker: Callable
    practice: bool = False  # ungraded: checked for the learner's sake, worth no points


class Mistake(Exception):
    """Raised inside a checker with the diagnosis the learner should read."""


class ExerciseFailed(CourseError, AssertionError):
    """The learner's answer is not right yet; the message says what is wrong and how to fix it."""

    title = "Not quite yet"

    def __init__(self, result: CheckResult) -> None:
        super().__init__(str(result))
        self.result = result


CHECKERS: Dict[str, ExerciseInfo] = {}  # exercise id -> info, filled by @exercise
RESULTS: List[CheckResult] = []  # every check run in this process, in order


def exercise(exercise_id: str, name: str, points: float = 1.0, practice: bool = False) -> Callable:
    """Register a checker. The checker takes the learner's function and returns a sentence saying what passed.

    ``practice=True``: an ungraded exercise (no points), for one whose answers cannot be kept from the learner,
    e.g. a multiple choice the checker in the learner's own notebook can be asked about as often as they like.
    """
    if practice:
        points = 0.0

    def register(checker: Callable[..., str]) -> Callable[..., CheckResult]:
        @functools.wraps(checker)
        def run(*learner_answers, **options) -> CheckResult:
            try:
                praise = checker(*learner_answers, **options)
            except Mistake as mistake:
                result = CheckResult(exercise_id, name, False, str(mistake), 0.0, points)
                RESULTS.append(result)
                raise ExerciseFailed(result) from None
            result = CheckResult(exercise_id, name, True, f"passed. {praise}", points, points)
            RESULTS.append(result)
            print(result)
            return result

        run.exercise_id = exercise_id
        run.points = points
        run.practice = practice
        if exercise_id in CHECKERS and CHECKERS[exercise_id].name != name:
            raise ValueError(
                f"Exercise id {exercise_id} is registered twice ({CHECKERS[exercise_id].name}, {name})."
            )
        CHECKERS[exercise_id] = ExerciseInfo(exercise_id, name, points, run, practice)
        return run

    return register


def _is_library(filename: str) -> bool:
    """True for installed libraries' and Python's own files (PyTorch, the standard library), not a learner's."""
    return any(part in filename for part in ("site-packages", "dist-packages")) or filename.startswith(
        _STDLIB
    )


_STDLIB = sysconfig.get_paths()["stdlib"]


def _learner_line(exc: BaseException) -> str:
    """The last line of the learner's own code in a traceback (not the package's, nor PyTorch's), for a hint."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "course_utils" not in f.filename]
    if not frames:
        return ""
    frame = ([f for f in frames if not _is_library(f.filename)] or frames)[-1]
    where = (
        f", {frame.filename[1:-1]} line {frame.lineno}" if frame.filename.startswith("<submission") else ""
    )
    return f" (in {frame.name}, at `{(frame.line or '').strip()}`{where})"


def call(fn: Callable, *args, what: Optional[str] = None, **kwargs):
    """Run the learner's ``fn(*args)``; if it is not written yet or crashes, raise a ``Mistake`` that says so."""
    label = what or f"{getattr(fn, '__name__', 'your function')}(...)"
    if not callable(fn):
        raise Mistake(
            f"Pass your function itself (without calling it), e.g. check.xyz(xyz); got {type(fn).__name__}."
        )
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        stub = _stub_name(exc)
        if stub is None:  # a library's "not implemented" (e.g. an operation on the meta device): a crash
            raise Mistake(f"{label} raised NotImplementedError: {exc}{_learner_line(exc)}.") from None
        raise Mistake(
            f"not done yet: replace the `raise NotImplementedError` line in {stub} with your code, then run the "
            "cell again."
        ) from None
    except Exception as exc:  # the learner's bug: report it precisely, without the package's frames
        raise Mistake(f"{label} raised {type(exc).__name__}: {exc}{_learner_line(exc)}.") from None


def _stub_name(exc: NotImplementedError) -> Optional[str]:
    """The function whose `raise NotImplementedError` stopped the call (the stub not yet written), or None when
    it came from a library. Named from where it was raised, not from what was called: a stub reached through
    ``model.apply(init_weights)`` is in init_weights, not in apply."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames or _is_library(frames[-1].filename) or "course_utils" in frames[-1].filename:
        return None
    return frames[-1].name


def expect_tensor(
    value, what: str, shape: Optional[Tuple[int, ...]] = None, dtype: Optional[torch.dtype] = None
):
    """Check that ``value`` is a tensor (of ``shape`` and ``dtype`` when given), else raise a ``Mistake``."""
    if value is None:
        raise Mistake(f"{what} returned None: did you forget the `return` statement?")
    if not isinstance(value, torch.Tensor):
        raise Mistake(f"{what} should return a torch.Tensor, but returned a {type(value).__name__}.")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Mistake(f"{what} returned shape {tuple(value.shape)}; expected {tuple(shape)}.")
    if dtype is not None and value.dtype != dtype:
        raise Mistake(f"{what} returned dtype {value.dtype}; expected {dtype}.")
    return value


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Same shape and values up to rounding."""
    return tuple(a.shape) == tuple(b.shape) and torch.allclose(a.double(), b.double(), atol=atol, rtol=rtol)


def match_variants(
    value, variants: Mapping[str, object], advice: Mapping[str, str], same: Callable[[object, object], bool]
) -> Optional[str]:
    """The advice for the first typical mistake that ``value`` reproduces, or None.

    A checker computes what the right answer and each typical mistake give on the same inputs (``variants``: name →
    that result) and says what each mistake is (``advice``: name → advice, tried in this order; names without a
    variant are skipped). ``same(value, variant)`` decides whether the learner's value is that variant's, e.g.
    ``close`` for tensors or ``math.isclose`` with a tolerance for numbers.
    """
    for name, text in advice.items():
        if name in variants and same(value, variants[name]):
            return text
    return None


def summary(results: Optional[List[CheckResult]] = None) -> str:
    """A short text report of the checks run so far (the latest result per exercise)."""
    latest: Dict[str, CheckResult] = {}
    for result in results if results is not None else RESULTS:
        latest[result.exercise_id] = result
    lines = [str(r) for _, r in sorted(latest.items())]
    return "\n".join(lines) if lines else "No exercise checked yet."
