"""Instructor tools: the student version of the course, nbgrader metadata, and grading without nbgrader.

Run them as ``python -m course_utils.instructor ...`` (see ``__main__`` and INSTRUCTORS.md). Nothing here is
imported by the lessons; building the student version needs the ``instructor`` extra (nbgrader).
"""

from .grading import ExerciseGrade, GradeReport, grade_notebook
from .layout import Exercise, LayoutError, find_exercises
from .student import build_student_version, student_notebook
from .tagging import tag_files, tag_notebook

__all__ = [
    "Exercise",
    "ExerciseGrade",
    "GradeReport",
    "LayoutError",
    "build_student_version",
    "find_exercises",
    "grade_notebook",
    "student_notebook",
    "tag_files",
    "tag_notebook",
]
