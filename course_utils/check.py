"""Every exercise checker, by name: ``from course_utils import check`` then ``check.flatten_batch(flatten_batch)``.

Each lesson's checkers live in ``course_utils/exercises/lessonNN.py``; this module gathers them in one place.
"""

from .exercises.core import summary
from .exercises.lesson00 import flatten_batch, to_minus_one_one

__all__ = ["summary", "flatten_batch", "to_minus_one_one"]
