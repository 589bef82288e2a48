"""Instructor tools: the student version of the course, nbgrader metadata, grading without nbgrader
(each exercise checked in a fresh process, with an integrity scan), and an nbgrader course folder.

Run them as ``python -m course_instructor ...`` (see ``__main__`` and INSTRUCTORS.md). This package is installed
apart from the learner's ``course_utils`` (``pip install -e ./instructor``, which ``make instructor-setup`` and
``make test`` run): it builds on ``course_utils``, and ``course_utils`` never imports it. The lessons and a
learner's copies need none of it.
"""

from course_utils.exercise_layout import Exercise, LayoutError, find_exercises
from course_utils.student_version import student_notebook

from .grading import ExerciseGrade, GradeReport, grade_notebook, grade_notebooks
from .student import build_student_version
from .tagging import tag_files, tag_notebook

__all__ = [
    "Exercise",
    "ExerciseGrade",
    "GradeReport",
    "LayoutError",
    "build_student_version",
    "find_exercises",
    "grade_notebook",
    "grade_notebooks",
    "student_notebook",
    "tag_files",
    "tag_notebook",
]
