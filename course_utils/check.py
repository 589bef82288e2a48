"""Every exercise checker, by name: ``from course_utils import check`` then ``check.flatten_batch(flatten_batch)``.

Each lesson's checkers live in ``course_utils/exercises/lessonNN.py`` and register themselves with ``@exercise``
(``exercises.core.CHECKERS``). This module imports every lesson's module and offers each registered checker under
its own name, so a new exercise appears here by itself. Two checkers with one name would hide each other: that
stops the import with a message.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Dict

from . import exercises
from .exercises.core import CHECKERS, summary

LESSON_MODULES = sorted(
    info.name for info in pkgutil.iter_modules(exercises.__path__) if info.name.startswith("lesson")
)
for _module in LESSON_MODULES:
    importlib.import_module(f"{exercises.__name__}.{_module}")


def _checkers_by_name() -> Dict[str, Callable]:
    """Each registered checker under its function's name, in the order of the exercise ids."""
    by_name: Dict[str, Callable] = {}
    for exercise_id, info in sorted(CHECKERS.items()):
        name = info.checker.__name__
        if name in by_name:
            raise ValueError(
                f"Two exercise checkers are both called {name!r} ({by_name[name].exercise_id} and {exercise_id}): "
                "rename one of them, so that check.<name> means one exercise."
            )
        by_name[name] = info.checker
    return by_name


_BY_NAME = _checkers_by_name()
globals().update(_BY_NAME)
__all__ = ["summary", *_BY_NAME]
