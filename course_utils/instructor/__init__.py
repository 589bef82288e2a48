"""Instructor tools: the student version of the course, nbgrader metadata, grading without nbgrader
(each exercise checked in a fresh process, with an integrity scan), and an nbgrader course folder.

Run them as ``python -m course_utils.instructor ...`` (see ``__main__`` and INSTRUCTORS.md). Nothing here is
imported by the lessons; building the student version needs the ``instructor`` extra (nbgrader).
"""

from .grading import ExerciseGrade, GradeReport, grade_notebook, grade_notebooks
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
    "grade_notebooks",
    "student_notebook",
    "tag_files",
    "tag_notebook",
]
